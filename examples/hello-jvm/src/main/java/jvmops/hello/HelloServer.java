package jvmops.hello;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The HTTP server: {@code /health}, {@code /version}, {@code /events} and the files under public/, on
 * the JDK's own HttpServer with a fixed pool of worker threads.
 *
 * <p>Shutdown, for rolling deploys: /health answers 503 at once (and, with {@code shutdown.delay}, the
 * server keeps serving that long so a load balancer notices), then the listening socket closes, event
 * streams end, requests in progress get up to {@code shutdown.timeout} ms to finish.
 */
final class HelloServer {
    private final AppConfig config;
    private final Logger log;
    private final StaticFiles statics;
    private final EventStreams events;
    private final byte[] versionJson;
    private final AtomicBoolean draining = new AtomicBoolean();
    private final AtomicInteger inFlight = new AtomicInteger();
    private HttpServer server;
    private ThreadPoolExecutor workers;

    HelloServer(AppConfig config, BuildInfo build, Logger log) {
        this.config = config;
        this.log = log;
        this.statics = new StaticFiles(config.publicDir());
        this.events = new EventStreams(log);
        String started = Instant.now().truncatedTo(ChronoUnit.MILLIS).toString();
        this.versionJson = ("{\"name\":" + Http.json(Main.NAME)
                + ",\"version\":" + Http.json(build.version())
                + ",\"build\":" + Http.json(build.build())
                + ",\"pid\":" + ProcessHandle.current().pid()
                + ",\"started\":" + Http.json(started)
                + ",\"java\":" + Http.json(System.getProperty("java.version"))
                + "}\n").getBytes(StandardCharsets.UTF_8);
    }

    void start() throws IOException {
        InetSocketAddress address = new InetSocketAddress(config.host(), config.port());
        if (address.isUnresolved()) {
            throw new UnknownHostException("unknown host '" + config.host() + "'");
        }
        // HttpServer writes the headers and the body of a response separately; without TCP_NODELAY,
        // Nagle's algorithm and the client's delayed ACK add ~40 ms to every keep-alive request. And it
        // closes a keep-alive connection after a response when 200 others are idle, which makes a load
        // balancer or load generator with many connections reconnect all the time. It reads these
        // properties once, when the first server is created; -D options on the command line win.
        defaultProperty("sun.net.httpserver.nodelay", "true");
        defaultProperty("sun.net.httpserver.maxIdleConnections", "10000");
        HttpServer http = HttpServer.create(address, config.backlog());
        AtomicInteger n = new AtomicInteger();
        workers = new ThreadPoolExecutor(config.threads(), config.threads(), 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                r -> new Thread(r, "http-worker-" + n.incrementAndGet()));
        http.setExecutor(workers);
        http.createContext("/", this::handle);
        http.start();
        server = http;
        log.fine(() -> "serving files from " + statics.root() + " with " + config.threads() + " worker threads");
    }

    private void handle(HttpExchange ex) {
        inFlight.incrementAndGet();
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
            if (inFlight.decrementAndGet() == 0 && draining.get()) {
                synchronized (inFlight) {
                    inFlight.notifyAll();
                }
            }
        }
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
                if (!getOrHead) {
                    Http.methodNotAllowed(ex, "GET, HEAD");
                } else {
                    statics.serve(ex, path);
                }
                return false;
        }
    }

    /** Drains and stops the server; called once, from the shutdown hook. */
    void shutdown() {
        if (server == null || !draining.compareAndSet(false, true)) {
            return;
        }
        long t0 = System.nanoTime();
        long delay = config.shutdownDelayMillis();
        long timeout = config.shutdownTimeoutMillis();
        log.info("shutting down: /health answers 503" + (delay > 0 ? ", serving " + delay + " ms more" : ""));
        if (delay > 0) {
            sleep(delay);
        }

        // HttpServer.stop closes the listening socket at once, then waits for open exchanges (at most
        // its delay). On JDK 17 it waits the whole delay when nothing is open, so it runs on the side and
        // this thread waits only for the requests that are really in progress.
        int stopSeconds = (int) Math.max(1, (timeout + 999) / 1000);
        Thread stopper = new Thread(() -> server.stop(stopSeconds), "http-stop");
        stopper.setDaemon(true);
        stopper.start();
        events.closeAll(Math.min(timeout, 2000));

        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeout);
        synchronized (inFlight) {
            long left;
            while (inFlight.get() > 0 && (left = deadline - System.nanoTime()) > 0) {
                try {
                    inFlight.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        int left = inFlight.get();
        if (left > 0) {
            log.warning(left + " requests still in progress after " + timeout + " ms; stopping anyway");
        }
        workers.shutdown();
        log.info(Main.NAME + " stopped after " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) + " ms");
    }

    private static void defaultProperty(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
