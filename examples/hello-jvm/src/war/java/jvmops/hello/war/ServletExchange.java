package jvmops.hello.war;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpPrincipal;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * One servlet request and its response as the {@link HttpExchange} that hello-jvm's request handling
 * takes, so the WAR answers as the standalone server does. The request URI is the one under the web
 * application's context path ({@code /health} for {@code /ctx/health}), raw, as HttpServer gives it.
 *
 * <p>Response headers are collected and handed to the servlet response by {@link #sendResponseHeaders},
 * with HttpServer's meaning of its length: more than 0 a Content-Length, -1 no body, 0 a body of unknown
 * length (an event stream): the request then goes asynchronous, without a timeout, and {@link #close}
 * completes it. The response body refuses writes (IOException) once the request is over, so an event
 * stream whose client has left ends as on the standalone server, without touching a response the container
 * has recycled.
 */
final class ServletExchange extends HttpExchange {
    private final HttpServletRequest request;
    private final HttpServletResponse response;
    private final URI uri;
    private final Headers requestHeaders = new Headers();
    private final Headers responseHeaders = new Headers();
    private final Object lock = new Object();
    private int responseCode = -1;
    private volatile AsyncContext async;
    private boolean done;
    private OutputStream body;

    /** @throws URISyntaxException when the request URI is not one java.net.URI takes (HttpServer answers 400 then too) */
    ServletExchange(HttpServletRequest request, HttpServletResponse response) throws URISyntaxException {
        this.request = request;
        this.response = response;
        String path = request.getRequestURI();
        String context = request.getContextPath();
        if (!context.isEmpty() && path.startsWith(context)) {
            path = path.substring(context.length());
        }
        if (path.isEmpty()) {
            path = "/";
        }
        String query = request.getQueryString();
        this.uri = new URI(query == null ? path : path + "?" + query);
        for (String name : Collections.list(request.getHeaderNames())) {
            requestHeaders.put(name, Collections.list(request.getHeaders(name)));
        }
    }

    @Override
    public Headers getRequestHeaders() {
        return requestHeaders;
    }

    @Override
    public Headers getResponseHeaders() {
        return responseHeaders;
    }

    @Override
    public URI getRequestURI() {
        return uri;
    }

    @Override
    public String getRequestMethod() {
        return request.getMethod();
    }

    /** None: the servlet container has no HttpServer context. */
    @Override
    public HttpContext getHttpContext() {
        return null;
    }

    @Override
    public void close() {
        AsyncContext a = async;
        if (a != null && end()) {
            try {
                a.complete();
            } catch (IllegalStateException e) {
                // the container ended the request meanwhile
            }
        }
    }

    /** Marks the request over; true the first time. Waits for a write in progress. */
    private boolean end() {
        synchronized (lock) {
            boolean first = !done;
            done = true;
            return first;
        }
    }

    @Override
    public InputStream getRequestBody() {
        try {
            return request.getInputStream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public OutputStream getResponseBody() {
        synchronized (lock) {
            if (body == null) {
                try {
                    body = new Body(response.getOutputStream());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return body;
        }
    }

    @Override
    public void sendResponseHeaders(int code, long length) throws IOException {
        if (responseCode >= 0) {
            throw new IOException("headers already sent");
        }
        responseCode = code;
        response.setStatus(code);
        for (Map.Entry<String, List<String>> header : responseHeaders.entrySet()) {
            boolean first = true;
            for (String value : header.getValue()) {
                if (first) {
                    response.setHeader(header.getKey(), value);
                    first = false;
                } else {
                    response.addHeader(header.getKey(), value);
                }
            }
        }
        if (length > 0) {
            response.setContentLengthLong(length);
        } else if (length < 0) {
            if (responseHeaders.getFirst("Content-Length") == null) {
                response.setContentLengthLong(0);
            }
        } else {
            if (request.isAsyncSupported()) {
                AsyncContext a = request.startAsync();
                a.setTimeout(0);
                a.addListener(new Ended());
                async = a;
            }
            response.flushBuffer();
        }
    }

    @Override
    public InetSocketAddress getRemoteAddress() {
        return address(request.getRemoteAddr(), request.getRemotePort());
    }

    @Override
    public int getResponseCode() {
        return responseCode;
    }

    @Override
    public InetSocketAddress getLocalAddress() {
        return address(request.getLocalAddr(), request.getLocalPort());
    }

    @Override
    public String getProtocol() {
        return request.getProtocol();
    }

    @Override
    public Object getAttribute(String name) {
        return request.getAttribute(name);
    }

    @Override
    public void setAttribute(String name, Object value) {
        request.setAttribute(name, value);
    }

    /** Not supported: there are no HttpServer filters in a servlet container. */
    @Override
    public void setStreams(InputStream in, OutputStream out) {
        throw new UnsupportedOperationException("setStreams");
    }

    @Override
    public HttpPrincipal getPrincipal() {
        return null;
    }

    /** The container gives addresses as literals, so this looks nothing up. */
    private static InetSocketAddress address(String literal, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByName(literal), port);
        } catch (UnknownHostException | IllegalArgumentException e) {
            return new InetSocketAddress(port);
        }
    }

    /** The container ends an asynchronous request (the client left, or the container stops): no more writes. */
    private final class Ended implements AsyncListener {
        @Override
        public void onComplete(AsyncEvent event) {
            end();
        }

        @Override
        public void onTimeout(AsyncEvent event) {
            end();
        }

        @Override
        public void onError(AsyncEvent event) {
            end();
        }

        @Override
        public void onStartAsync(AsyncEvent event) {
            // nothing to do
        }
    }

    /** The servlet response body, closed for writing once the request is over. */
    private final class Body extends OutputStream {
        private final OutputStream out;

        Body(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            synchronized (lock) {
                check();
                out.write(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            synchronized (lock) {
                check();
                out.write(b, off, len);
            }
        }

        @Override
        public void flush() throws IOException {
            synchronized (lock) {
                check();
                out.flush();
            }
        }

        @Override
        public void close() throws IOException {
            synchronized (lock) {
                if (!done) {
                    out.close();
                }
            }
        }

        private void check() throws IOException {
            if (done) {
                throw new IOException("the request is over");
            }
        }
    }
}
