package jvmops.hello;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code GET /events}: Server-Sent Events, {@code : connected} then {@code data: tick <n>} every
 * {@code interval} ms. The request's worker thread only sends the headers and returns; one scheduler
 * thread times the ticks and a pool of writer threads writes them, so open streams hold no HTTP worker.
 * A client that stops reading holds at most one writer thread and misses ticks meanwhile.
 */
final class EventStreams {
    static final long DEFAULT_INTERVAL = 1000;
    static final long MIN_INTERVAL = 10;
    static final long MAX_INTERVAL = 3_600_000;

    private static final AtomicLong IDS = new AtomicLong();

    private final Logger log;
    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(daemon("sse-ticker"));
    private final ThreadPoolExecutor writers = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS,
            new SynchronousQueue<>(), daemon("sse-writer"));
    private final Set<Stream> streams = ConcurrentHashMap.newKeySet();
    private boolean closing;

    EventStreams(Logger log) {
        this.log = log;
    }

    int open() {
        return streams.size();
    }

    /** Answers the request; returns true when a stream was opened (the exchange then stays open). */
    boolean start(HttpExchange ex) throws IOException {
        long interval;
        try {
            interval = interval(ex.getRequestURI().getRawQuery());
        } catch (NumberFormatException e) {
            Http.text(ex, 400, "interval must be a whole number of milliseconds\n");
            return false;
        }
        Stream stream = new Stream(ex, interval);
        synchronized (this) {
            if (closing) {
                Http.text(ex, 503, "shutting down\n");
                return false;
            }
            streams.add(stream);
        }
        try {
            ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
            ex.getResponseHeaders().set("Cache-Control", "no-cache");
            // Nginx buffers proxied responses unless told not to.
            ex.getResponseHeaders().set("X-Accel-Buffering", "no");
            ex.sendResponseHeaders(200, 0); // 0: chunked, no Content-Length
            stream.out = ex.getResponseBody();
            stream.write(": connected\n\n");
            stream.future = ticker.scheduleAtFixedRate(stream::due, interval, interval, TimeUnit.MILLISECONDS);
            if (stream.closed) {
                stream.future.cancel(false);
            }
        } catch (RejectedExecutionException e) {
            stream.close(null); // the server began shutting down meanwhile
            return true;
        } catch (IOException | RuntimeException e) {
            stream.close(null);
            throw e;
        }
        log.fine(() -> "events stream " + stream.id + " opened for " + ex.getRemoteAddress() + ", every " + interval + " ms");
        return true;
    }

    static long interval(String rawQuery) {
        if (rawQuery != null) {
            for (String pair : rawQuery.split("&")) {
                if (pair.startsWith("interval=")) {
                    long ms = Long.parseLong(pair.substring("interval=".length()));
                    return Math.max(MIN_INTERVAL, Math.min(MAX_INTERVAL, ms));
                }
            }
        }
        return DEFAULT_INTERVAL;
    }

    /**
     * Ends every stream (a last {@code event: shutdown}, then the end of the chunked body) and refuses
     * new ones; waits up to {@code timeoutMillis} for clients that do not read.
     */
    void closeAll(long timeoutMillis) {
        List<Stream> open;
        synchronized (this) {
            closing = true;
            open = new ArrayList<>(streams);
        }
        CountDownLatch done = new CountDownLatch(open.size());
        for (Stream stream : open) {
            try {
                writers.execute(() -> {
                    try {
                        stream.close("event: shutdown\ndata: server shutting down\n\n");
                    } finally {
                        done.countDown();
                    }
                });
            } catch (RejectedExecutionException e) {
                done.countDown();
            }
        }
        try {
            if (!done.await(timeoutMillis, TimeUnit.MILLISECONDS)) {
                log.warning(done.getCount() + " events streams did not close in time");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ticker.shutdownNow();
        writers.shutdown();
        if (!open.isEmpty()) {
            log.info("closed " + open.size() + " events streams");
        }
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
        final long id = IDS.incrementAndGet();
        final HttpExchange ex;
        final long interval;
        final AtomicBoolean writing = new AtomicBoolean();
        volatile OutputStream out;
        volatile ScheduledFuture<?> future;
        volatile boolean closed;
        private long ticks;

        Stream(HttpExchange ex, long interval) {
            this.ex = ex;
            this.interval = interval;
        }

        /** On the ticker thread: hand the write to a writer unless the last one is still blocked. */
        void due() {
            if (closed || !writing.compareAndSet(false, true)) {
                return;
            }
            try {
                writers.execute(this::tick);
            } catch (RejectedExecutionException e) {
                writing.set(false);
            }
        }

        void tick() {
            try {
                long n;
                synchronized (this) {
                    n = ++ticks;
                }
                write("data: tick " + n + "\n\n");
            } catch (IOException e) {
                log.fine(() -> "events stream " + id + " ended by the client (" + e.getMessage() + ")");
                close(null);
            } finally {
                writing.set(false);
            }
        }

        synchronized void write(String text) throws IOException {
            if (closed) {
                throw new IOException("stream closed");
            }
            out.write(text.getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        /** Ends the stream, with a last message when {@code farewell} is not null. */
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
                        write(farewell);
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
                    log.log(Level.FINEST, "closing events stream " + id, e);
                } finally {
                    ex.close();
                    streams.remove(this);
                }
            }
        }
    }
}
