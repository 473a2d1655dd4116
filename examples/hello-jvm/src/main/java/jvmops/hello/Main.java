package jvmops.hello;

import java.io.IOException;
import java.util.logging.Logger;

/**
 * Entry point of hello-jvm, the collection's sample JVM web application.
 *
 * <p>Run it from the package root like a Xitrum application: {@code java -cp "lib/*:config" jvmops.hello.Main}.
 * {@code config/} is on the class path (application.properties, logback.xml) and {@code public/} is
 * resolved against the working directory.
 *
 * <p>Exit codes: 0 after a clean shutdown (SIGTERM, SIGINT), 1 when the server cannot start (address in
 * use, unknown host), 2 for a configuration or usage error.
 */
public final class Main {
    static final String NAME = "hello-jvm";

    private Main() {
    }

    public static void main(String[] args) {
        BuildInfo build = BuildInfo.load(Main.class.getClassLoader());
        if (args.length == 1 && ("--version".equals(args[0]) || "-v".equals(args[0]))) {
            System.out.println(NAME + " " + build.version() + " (" + build.build() + ")");
            return;
        }
        if (args.length == 1 && ("--help".equals(args[0]) || "-h".equals(args[0]))) {
            System.out.println(usage());
            return;
        }
        if (args.length > 0 && "demo".equals(args[0])) {
            // The one-off script of the Heroku recipe (heroku run ... demo 100): the Fibonacci numbers below N.
            if (args.length != 2 || !args[1].matches("[0-9]{1,18}")) {
                fail(2, "usage: demo N (N a whole number)");
                return;
            }
            System.out.println(Demo.fibonacciBelow(Long.parseLong(args[1])));
            return;
        }
        if (args.length > 0) {
            fail(2, "unexpected argument '" + args[0] + "'\n" + usage());
            return;
        }

        AppConfig config;
        try {
            config = AppConfig.load(Main.class.getClassLoader(), System.getenv());
        } catch (ConfigException e) {
            fail(2, e.getMessage());
            return;
        }

        Logger log = Logs.setup(config.level());
        for (AppConfig.Note note : config.notes()) {
            log.log(note.level(), note.message());
        }

        HelloServer server = new HelloServer(config, build, log);
        try {
            server.start();
        } catch (IOException e) {
            int port = e instanceof HelloServer.HttpsListenException ? config.httpsPort() : config.port();
            fail(1, "cannot listen on " + config.host() + ":" + port + ": " + describe(e));
            return;
        }
        // SIGTERM and SIGINT run this hook. The JVM would then exit 143 or 130; a drained shutdown is a
        // success, so the hook ends the process with 0 once the server has stopped.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdown();
            Runtime.getRuntime().halt(0);
        }, "shutdown"));
        log.info(NAME + " " + build.version() + " (" + build.build() + ") listening on " + config.host() + ":"
                + config.port() + (config.https() ? " and " + config.host() + ":" + config.httpsPort() + " (HTTPS)" : "")
                + ", pid " + ProcessHandle.current().pid() + ", java " + System.getProperty("java.version"));
    }

    private static String usage() {
        return "usage: java -cp \"lib/*:config\" jvmops.hello.Main [--version | demo N]\n"
                + "  environment: PORT (overrides http.port), HOST (overrides http.host), LOG_LEVEL (overrides logback.xml),\n"
                + "  HTTPS_PORT, HTTPS_KEYSTORE, HTTPS_KEYSTORE_PASSWORD_FILE (override https.port, https.keystore,\n"
                + "  https.keystore.password.file: HTTPS with a PKCS12 keystore)";
    }

    private static String describe(IOException e) {
        String message = e.getMessage();
        return message == null || message.isEmpty() ? e.getClass().getSimpleName() : message;
    }

    private static void fail(int status, String message) {
        System.err.println(NAME + ": " + message);
        System.err.flush();
        System.exit(status);
    }
}
