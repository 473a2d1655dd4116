package jvmops.hello;

import java.util.StringJoiner;

/** The one-off script: {@code demo N} prints the Fibonacci numbers below N on one line. */
final class Demo {
    private Demo() {
    }

    static String fibonacciBelow(long limit) {
        StringJoiner out = new StringJoiner(" ");
        long a = 0;
        long b = 1;
        while (a < limit) {
            out.add(Long.toString(a));
            long next = a + b;
            if (next < b) {
                break; // would overflow: every smaller number has been printed
            }
            a = b;
            b = next;
        }
        return out.toString();
    }
}
