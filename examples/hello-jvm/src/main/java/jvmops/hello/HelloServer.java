package jvmops.hello;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

/**
 * The HTTP server: {@link HelloApp} ({@code /health}, {@code /version}, {@code /events} and the files under
 * public/) on the JDK's own HttpServer with a fixed pool of worker threads; with a keystore configured, the same
 * handlers over HTTPS too (HttpsServer on {@code https.port}, sharing the workers).
 *
 * <p>Shutdown, for rolling deploys: /health answers 503 at once (and, with {@code shutdown.delay}, the
 * server keeps serving that long so a load balancer notices), then the listening socket closes, event
 * streams end, requests in progress get up to {@code shutdown.timeout} ms to finish.
 */
final class HelloServer {
    private final AppConfig config;
    private final Logger log;
    private final HelloApp app;
    private final AtomicInteger inFlight = new AtomicInteger();
    private HttpServer server;
    private HttpsServer httpsServer;
    private ThreadPoolExecutor workers;

    HelloServer(AppConfig config, BuildInfo build, Logger log) {
        this.config = config;
        this.log = log;
        this.app = new HelloApp(build, StaticFiles.find(config.publicDir(), HelloServer.class.getClassLoader()), log);
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
        HttpsServer https = null;
        if (config.https()) {
            try {
                https = HttpsServer.create(new InetSocketAddress(config.host(), config.httpsPort()), config.backlog());
            } catch (IOException e) {
                http.stop(0);
                throw new HttpsListenException(e);
            }
            https.setHttpsConfigurator(new HttpsConfigurator(config.sslContext()));
        }
        AtomicInteger n = new AtomicInteger();
        workers = new ThreadPoolExecutor(config.threads(), config.threads(), 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                r -> new Thread(r, "http-worker-" + n.incrementAndGet()));
        serve(http);
        server = http;
        if (https != null) {
            serve(https);
            httpsServer = https;
            log.fine(() -> "serving HTTPS on port " + config.httpsPort() + " with the keystore " + config.keystore());
        }
        StaticFiles statics = app.statics();
        if (statics.root() == null) {
            log.info("no directory " + config.publicDir() + " in " + System.getProperty("user.dir")
                    + ": serving the copy of public/ packaged in the jar");
        }
        log.fine(() -> "serving files from " + statics + " with " + config.threads() + " worker threads");
    }

    /** The handlers on one server (HTTP or HTTPS: the same ones), run by the shared workers. */
    private void serve(HttpServer listener) {
        listener.setExecutor(workers);
        listener.createContext("/", this::handle);
        listener.start();
    }

    private void handle(HttpExchange ex) {
        inFlight.incrementAndGet();
        try {
            app.handle(ex);
        } finally {
            if (inFlight.decrementAndGet() == 0 && app.draining()) {
                synchronized (inFlight) {
                    inFlight.notifyAll();
                }
            }
        }
    }

    /** Drains and stops the server; called once, from the shutdown hook. */
    void shutdown() {
        if (server == null || !app.startDraining()) {
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
        for (HttpServer listener : httpsServer == null ? new HttpServer[] {server} : new HttpServer[] {server, httpsServer}) {
            Thread stopper = new Thread(() -> listener.stop(stopSeconds), listener == server ? "http-stop" : "https-stop");
            stopper.setDaemon(true);
            stopper.start();
        }
        app.stop(Math.min(timeout, 2000));

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

    /** The HTTPS port could not be opened (the HTTP one could, and is closed again). */
    static final class HttpsListenException extends IOException {
        private static final long serialVersionUID = 1L;

        HttpsListenException(IOException cause) {
            super(cause.getMessage(), cause);
        }
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
