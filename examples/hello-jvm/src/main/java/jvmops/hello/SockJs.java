package jvmops.hello;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A minimal SockJS-shaped XHR-streaming endpoint, to show session affinity through a load balancer. SockJS URLs
 * are {@code /sockjs/<server>/<session>/<transport>}: the client picks {@code server} (a short id meant for
 * load balancers to pin on) and {@code session} at random, and every request of one session must reach the same
 * app host, which holds the session.
 *
 * <ul>
 * <li>{@code POST /sockjs/<server>/<session>/xhr_streaming}: a stream (chunked) of the SockJS prelude (2048 {@code h}
 * and a newline), the open frame {@code o}, then a heartbeat frame {@code h} every {@code heartbeat} ms (query
 * parameter, default 25000, at least 10) until the client leaves or the server stops (a close frame
 * {@code c[3000,"Go away!"]} then).</li>
 * <li>{@code POST /sockjs/<server>/<session>/xhr_send}: answers {@code 200} with the name of the host that served
 * it, so that a client sees where its session landed.</li>
 * </ul>
 *
 * <p>Every answer under {@code /sockjs/} names the host in {@code X-Served-By}. Sessions are not kept: this is only
 * enough for a load balancer test. Open streams hold no HTTP worker thread.
 */
final class SockJs {
    static final String PREFIX = "/sockjs/";
    static final String HOST_HEADER = "X-Served-By";
    static final long DEFAULT_HEARTBEAT = 25_000;
    static final long MIN_HEARTBEAT = 10;
    private static final Pattern PATH = Pattern.compile("^/sockjs/([^/.]+)/([^/.]+)/([a-z_]+)$");
    private static final String JAVASCRIPT = "application/javascript; charset=UTF-8";
    private static final byte[] PRELUDE = ("h".repeat(2048) + "\n").getBytes(StandardCharsets.US_ASCII);

    private final Logger log;
    private final String host = hostName();
    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(daemon("sockjs-ticker"));
    private final ThreadPoolExecutor writers = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS,
            new SynchronousQueue<>(), daemon("sockjs-writer"));
    private final Set<Stream> streams = ConcurrentHashMap.newKeySet();
    private boolean closing;

    SockJs(Logger log) {
        this.log = log;
    }

    /** The host's name as {@code hostname} prints it. */
    static String hostName() {
        try {
            String name = Files.readString(Path.of("/proc/sys/kernel/hostname"), StandardCharsets.UTF_8).trim();
            if (!name.isEmpty()) {
                return name;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: ask the JDK
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }

    String host() {
        return host;
    }

    int open() {
        return streams.size();
    }

    /** Answers a request under {@link #PREFIX}; returns true when a stream was opened (the exchange stays open). */
    boolean handle(HttpExchange ex, String path, boolean draining) throws IOException {
        ex.getResponseHeaders().set(HOST_HEADER, host);
        ex.getResponseHeaders().set("Cache-Control", "no-store, no-cache, must-revalidate, max-age=0");
        Matcher m = PATH.matcher(path);
        if (!m.matches() || !("xhr_streaming".equals(m.group(3)) || "xhr_send".equals(m.group(3)))) {
            Http.text(ex, 404, "Not Found\n");
            return false;
        }
        if (!"POST".equals(ex.getRequestMethod())) {
            Http.methodNotAllowed(ex, "POST");
            return false;
        }
        try (InputStream body = ex.getRequestBody()) {
            body.transferTo(OutputStream.nullOutputStream());
        }
        if ("xhr_send".equals(m.group(3))) {
            Http.text(ex, 200, host + "\n");
            return false;
        }
        long heartbeat;
        try {
            heartbeat = heartbeat(ex.getRequestURI().getRawQuery());
        } catch (NumberFormatException e) {
            Http.text(ex, 400, "heartbeat must be a whole number of milliseconds\n");
            return false;
        }
        if (draining) {
            Http.text(ex, 503, "shutting down\n");
            return false;
        }
        return start(ex, m.group(2), heartbeat);
    }

    static long heartbeat(String rawQuery) {
        if (rawQuery != null) {
            for (String pair : rawQuery.split("&")) {
                if (pair.startsWith("heartbeat=")) {
                    return Math.max(MIN_HEARTBEAT, Long.parseLong(pair.substring("heartbeat=".length())));
                }
            }
        }
        return DEFAULT_HEARTBEAT;
    }

    private boolean start(HttpExchange ex, String session, long heartbeat) throws IOException {
        Stream stream = new Stream(ex);
        synchronized (this) {
            if (closing) {
                Http.text(ex, 503, "shutting down\n");
                return false;
            }
            streams.add(stream);
        }
        try {
            ex.getResponseHeaders().set("Content-Type", JAVASCRIPT);
            ex.getResponseHeaders().set("X-Accel-Buffering", "no"); // Nginx passes it on at once
            ex.sendResponseHeaders(200, 0); // chunked
            stream.out = ex.getResponseBody();
            stream.write(PRELUDE);
            stream.write("o\n".getBytes(StandardCharsets.US_ASCII));
            stream.future = ticker.scheduleAtFixedRate(stream::due, heartbeat, heartbeat, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            stream.close(null);
        } catch (IOException | RuntimeException e) {
            stream.close(null);
            throw e;
        }
        log.fine(() -> "sockjs session " + session + " streaming to " + ex.getRemoteAddress());
        return true;
    }

    /** Ends every stream with a close frame and refuses new ones; waits up to timeoutMillis for slow clients. */
    void closeAll(long timeoutMillis) {
        List<Stream> open;
        synchronized (this) {
            closing = true;
            open = new ArrayList<>(streams);
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        List<Future<?>> done = new ArrayList<>();
        for (Stream stream : open) {
            try {
                done.add(writers.submit(() -> stream.close("c[3000,\"Go away!\"]\n")));
            } catch (RejectedExecutionException e) {
                stream.close(null);
            }
        }
        for (Future<?> f : done) {
            try {
                f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (ExecutionException | TimeoutException e) {
                break; // a slow or gone client does not hold the shutdown up
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        ticker.shutdownNow();
        writers.shutdown();
    }

    private static ThreadFactory daemon(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    private final class Stream {
        final HttpExchange ex;
        final AtomicBoolean writing = new AtomicBoolean();
        volatile OutputStream out;
        volatile ScheduledFuture<?> future;
        volatile boolean closed;

        Stream(HttpExchange ex) {
            this.ex = ex;
        }

        /** On the ticker thread: hand the heartbeat to a writer unless the last one is still blocked. */
        void due() {
            if (closed || !writing.compareAndSet(false, true)) {
                return;
            }
            try {
                writers.execute(() -> {
                    try {
                        write("h\n".getBytes(StandardCharsets.US_ASCII));
                    } catch (IOException e) {
                        close(null);
                    } finally {
                        writing.set(false);
                    }
                });
            } catch (RejectedExecutionException e) {
                writing.set(false);
            }
        }

        synchronized void write(byte[] bytes) throws IOException {
            if (closed) {
                throw new IOException("stream closed");
            }
            out.write(bytes);
            out.flush();
        }

        /** Ends the stream, with a last frame when {@code farewell} is not null. */
        void close(String farewell) {
            ScheduledFuture<?> f = future;
            if (f != null) {
                f.cancel(false);
            }
            synchronized (this) {
                if (closed) {
                    return;
                }
                if (farewell != null && out != null) {
                    try {
                        write(farewell.getBytes(StandardCharsets.US_ASCII));
                    } catch (IOException e) {
                        // the client is gone already
                    }
                }
                closed = true;
                try {
                    if (out != null) {
                        out.close();
                    }
                } catch (IOException e) {
                    // the client is gone
                } finally {
                    ex.close();
                    streams.remove(this);
                }
            }
        }
    }
}
