package jvmops.hello;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Response helpers: every response has a Content-Length, so keep-alive connections can be reused. */
final class Http {
    static final String TEXT = "text/plain; charset=utf-8";
    static final String JSON = "application/json";

    private Http() {
    }

    static boolean isHead(HttpExchange ex) {
        return "HEAD".equals(ex.getRequestMethod());
    }

    static void send(HttpExchange ex, int status, String contentType, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", contentType);
        sendHeaders(ex, status, body.length);
        if (!isHead(ex) && body.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    static void text(HttpExchange ex, int status, String body) throws IOException {
        send(ex, status, TEXT, body.getBytes(StandardCharsets.UTF_8));
    }

    static void methodNotAllowed(HttpExchange ex, String allow) throws IOException {
        ex.getResponseHeaders().set("Allow", allow);
        text(ex, 405, "Method Not Allowed\n");
    }

    /**
     * Sends the status line and headers with a Content-Length of {@code length}. HttpServer's own API
     * uses 0 for "chunked" and refuses a length on HEAD, so this maps both cases.
     */
    static void sendHeaders(HttpExchange ex, int status, long length) throws IOException {
        if (isHead(ex)) {
            ex.getResponseHeaders().set("Content-Length", Long.toString(length));
            ex.sendResponseHeaders(status, -1);
        } else {
            ex.sendResponseHeaders(status, length == 0 ? -1 : length);
        }
    }

    static String json(String s) {
        StringBuilder out = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    out.append("\\\"");
                    break;
                case '\\':
                    out.append("\\\\");
                    break;
                case '\n':
                    out.append("\\n");
                    break;
                case '\r':
                    out.append("\\r");
                    break;
                case '\t':
                    out.append("\\t");
                    break;
                default:
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
            }
        }
        return out.append('"').toString();
    }
}
