package jvmops.hello;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What hello-jvm answers, whatever receives the requests: {@code /health}, {@code /version},
 * {@code /events} and the static files. {@link HelloServer} runs it on the JDK's HttpServer; the WAR
 * build's servlet ({@code src/war/java}, {@code jvmops.hello.war.HelloServlet}) hands it each request of a
 * servlet container as an {@link HttpExchange}.
 */
public final class HelloApp {
    private final Logger log;
    private final BuildInfo build;
    private final StaticFiles statics;
    private final EventStreams events;
    private final SockJs sockJs;
    private final byte[] versionJson;
    private final AtomicBoolean draining = new AtomicBoolean();

    HelloApp(BuildInfo build, StaticFiles statics, Logger log) {
        this.log = log;
        this.build = build;
        this.statics = statics;
        this.events = new EventStreams(log);
        this.sockJs = new SockJs(log);
        String started = Instant.now().truncatedTo(ChronoUnit.MILLIS).toString();
        this.versionJson = ("{\"name\":" + Http.json(Main.NAME)
                + ",\"version\":" + Http.json(build.version())
                + ",\"build\":" + Http.json(build.build())
                + ",\"pid\":" + ProcessHandle.current().pid()
                + ",\"started\":" + Http.json(started)
                + ",\"java\":" + Http.json(System.getProperty("java.version"))
                + "}\n").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The app as a servlet container runs it: build.properties and the static files from the class path
     * (the copy of {@code public/} that build.sh packages into the jar).
     *
     * @throws IllegalStateException when the class path holds no packaged static files (no hello-jvm.jar)
     */
    public static HelloApp fromClassPath(ClassLoader loader, Logger log) {
        StaticFiles statics = StaticFiles.packaged(loader);
        if (statics == null) {
            throw new IllegalStateException(StaticFiles.PACKAGED_INDEX + " is not on the class path (is hello-jvm.jar in WEB-INF/lib?)");
        }
        return new HelloApp(BuildInfo.load(loader), statics, log);
    }

    /** {@code hello-jvm <version> (<build>)}, as the startup line and {@code --version} say it. */
    public String title() {
        return Main.NAME + " " + build.version() + " (" + build.build() + ")";
    }

    StaticFiles statics() {
        return statics;
    }

    /** From now on /health answers 503 and event streams are refused; false when it was so already. */
    boolean startDraining() {
        return draining.compareAndSet(false, true);
    }

    boolean draining() {
        return draining.get();
    }

    /**
     * Stops: /health answers 503, no new event streams, and the open ones end with {@code event: shutdown};
     * waits up to {@code timeoutMillis} for clients that do not read.
     */
    public void stop(long timeoutMillis) {
        startDraining();
        events.closeAll(timeoutMillis);
        sockJs.closeAll(timeoutMillis);
    }

    /**
     * Answers one request. Returns true when the exchange stays open (an event stream, which closes it
     * itself later); otherwise the exchange is closed on return. Never throws: errors are logged and, when
     * nothing has been sent yet, answered with 500.
     */
    public boolean handle(HttpExchange ex) {
        long t0 = System.nanoTime();
        boolean streaming = false;
        try {
            ex.getResponseHeaders().set("Server", Main.NAME);
            if (draining.get()) {
                ex.getResponseHeaders().set("Connection", "close");
            }
            streaming = route(ex);
        } catch (IOException e) {
            log.fine(() -> "request from " + ex.getRemoteAddress() + " failed: " + e);
        } catch (RuntimeException e) {
            log.log(Level.SEVERE, "error answering " + ex.getRequestMethod() + " " + ex.getRequestURI(), e);
            if (ex.getResponseCode() < 0) {
                try {
                    Http.text(ex, 500, "Internal Server Error\n");
                } catch (IOException ignored) {
                    // the client is gone
                }
            }
        } finally {
            if (!streaming) {
                ex.close();
            }
            if (log.isLoggable(Level.FINE)) {
                String length = ex.getResponseHeaders().getFirst("Content-Length");
                log.fine(String.format(Locale.ROOT, "%s \"%s %s %s\" %d %s %.1fms",
                        ex.getRemoteAddress().getAddress().getHostAddress(), ex.getRequestMethod(), ex.getRequestURI(),
                        ex.getProtocol(), ex.getResponseCode(), length == null ? "-" : length, (System.nanoTime() - t0) / 1e6));
            }
        }
        return streaming;
    }

    /** Answers one request; returns true when the exchange stays open (an event stream). */
    private boolean route(HttpExchange ex) throws IOException {
        String method = ex.getRequestMethod();
        boolean getOrHead = "GET".equals(method) || "HEAD".equals(method);
        String path = ex.getRequestURI().getRawPath();
        switch (path == null ? "" : path) {
            case "/health":
                if (!getOrHead) {
                    Http.methodNotAllowed(ex, "GET, HEAD");
                } else {
                    ex.getResponseHeaders().set("Cache-Control", "no-store");
                    if (draining.get()) {
                        Http.text(ex, 503, "SHUTTING DOWN\n");
                    } else {
                        Http.text(ex, 200, "OK\n");
                    }
                }
                return false;
            case "/version":
                if (!getOrHead) {
                    Http.methodNotAllowed(ex, "GET, HEAD");
                } else {
                    ex.getResponseHeaders().set("Cache-Control", "no-store");
                    Http.send(ex, 200, Http.JSON, versionJson);
                }
                return false;
            case "/events":
                if (!"GET".equals(method)) {
                    Http.methodNotAllowed(ex, "GET");
                    return false;
                }
                if (draining.get()) {
                    Http.text(ex, 503, "shutting down\n");
                    return false;
                }
                return events.start(ex);
            default:
                if (path != null && path.startsWith(SockJs.PREFIX)) {
                    return sockJs.handle(ex, path, draining.get());
                }
                if (!getOrHead) {
                    Http.methodNotAllowed(ex, "GET, HEAD");
                } else {
                    statics.serve(ex, path);
                }
                return false;
        }
    }
}
