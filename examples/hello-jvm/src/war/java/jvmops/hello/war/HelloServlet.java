package jvmops.hello.war;

import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.logging.Logger;
import jvmops.hello.HelloApp;

/**
 * hello-jvm as a web application (the WAR build, {@code ./build.sh --war}): WEB-INF/web.xml maps every
 * request to this servlet, which hands it to the app's own request handling ({@link HelloApp}, in
 * WEB-INF/lib/hello-jvm.jar), so {@code /}, {@code /health}, {@code /version}, {@code /events} and the
 * static files answer as they do from the standalone server. build.properties and the static files come
 * from the class path; the log goes to the container's java.util.logging, logger {@code jvmops.hello}.
 */
public final class HelloServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    private transient HelloApp app;

    @Override
    public void init() throws ServletException {
        Logger log = Logger.getLogger("jvmops.hello");
        try {
            app = HelloApp.fromClassPath(HelloServlet.class.getClassLoader(), log);
        } catch (IllegalStateException e) {
            throw new ServletException("hello-jvm: " + e.getMessage(), e);
        }
        String context = getServletContext().getContextPath();
        log.info(app.title() + " serving " + (context.isEmpty() ? "/" : context) + " in " + getServletContext().getServerInfo()
                + ", pid " + ProcessHandle.current().pid() + ", java " + System.getProperty("java.version"));
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        ServletExchange exchange;
        try {
            exchange = new ServletExchange(request, response);
        } catch (URISyntaxException e) {
            byte[] body = "Bad Request\n".getBytes(StandardCharsets.UTF_8);
            response.setStatus(400);
            response.setContentType("text/plain; charset=utf-8");
            response.setContentLength(body.length);
            try (OutputStream out = response.getOutputStream()) {
                out.write(body);
            }
            return;
        }
        app.handle(exchange);
    }

    /** The container stops the application: event streams end with {@code event: shutdown}. */
    @Override
    public void destroy() {
        if (app != null) {
            app.stop(2000);
        }
    }
}
