package jvmops.hello;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.logging.Level;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

/**
 * The settings, from {@code application.properties} and {@code logback.xml} on the class path, then the
 * environment: {@code PORT} and {@code HOST} (Heroku, OpenShift), {@code LOG_LEVEL}, and for HTTPS
 * {@code HTTPS_PORT}, {@code HTTPS_KEYSTORE} and {@code HTTPS_KEYSTORE_PASSWORD_FILE} (as jvm_app gives them). When the class
 * path has no such file (run as {@code java -jar}, without {@code config/}), the copy of {@code config/}
 * that build.sh packages into the jar is read instead.
 */
final class AppConfig {
    static final String PROPERTIES = "application.properties";
    static final String LOGBACK = "logback.xml";
    /** Where build.sh packages config/ in the jar. */
    static final String PACKAGED = "jvmops/hello/config/";

    /** Something worth logging about how the configuration was found, once logging is set up. */
    record Note(Level level, String message) {
    }

    private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Za-z0-9_.]+)(?::-([^}]*))?}");

    private final String host;
    private final int port;
    private final Level level;
    private final int threads;
    private final int backlog;
    private final Path publicDir;
    private final long shutdownDelayMillis;
    private final long shutdownTimeoutMillis;
    private final int httpsPort;
    private final Path keystore;
    private final SSLContext sslContext;
    private final List<Note> notes;

    private AppConfig(Properties props, Level level, Map<String, String> env, List<Note> notes) throws ConfigException {
        String envPort = nonEmpty(env.get("PORT"));
        this.port = envPort != null
                ? port(envPort, "PORT")
                : port(props.getProperty("http.port", "8000").trim(), "http.port in " + PROPERTIES);
        String envHost = nonEmpty(env.get("HOST"));
        this.host = envHost != null ? envHost : props.getProperty("http.host", "0.0.0.0").trim();
        if (host.isEmpty()) {
            throw new ConfigException("http.host in " + PROPERTIES + " is empty");
        }
        this.level = level;
        this.threads = (int) number(props, "http.threads", 64, 1, 10_000);
        this.backlog = (int) number(props, "http.backlog", 1024, 1, 1_000_000);
        this.publicDir = Paths.get(props.getProperty("static.dir", "public").trim());
        this.shutdownDelayMillis = number(props, "shutdown.delay", 0, 0, 600_000);
        this.shutdownTimeoutMillis = number(props, "shutdown.timeout", 5000, 0, 600_000);
        // HTTPS: the same handlers on a second port, only when a keystore is given.
        String envHttpsPort = nonEmpty(env.get("HTTPS_PORT"));
        this.httpsPort = envHttpsPort != null
                ? port(envHttpsPort, "HTTPS_PORT")
                : port(props.getProperty("https.port", "4430").trim(), "https.port in " + PROPERTIES);
        String keystoreName = setting(props, env, "https.keystore", "HTTPS_KEYSTORE");
        String passwordName = setting(props, env, "https.keystore.password.file", "HTTPS_KEYSTORE_PASSWORD_FILE");
        if (keystoreName == null) {
            this.keystore = null;
            this.sslContext = null;
        } else {
            if (passwordName == null) {
                throw new ConfigException("https.keystore (HTTPS_KEYSTORE) needs https.keystore.password.file "
                        + "(HTTPS_KEYSTORE_PASSWORD_FILE), the file that holds the keystore's password");
            }
            if (httpsPort == port) {
                throw new ConfigException("the HTTPS port " + httpsPort + " is the HTTP port too: give https.port "
                        + "(HTTPS_PORT) another one");
            }
            this.keystore = Paths.get(keystoreName);
            this.sslContext = Tls.context(keystore, Paths.get(passwordName));
        }
        this.notes = List.copyOf(notes);
    }

    static AppConfig load(ClassLoader loader, Map<String, String> env) throws ConfigException {
        List<Note> notes = new ArrayList<>();
        Properties props = new Properties();
        URL url = resource(loader, PROPERTIES, notes);
        if (url == null) {
            notes.add(new Note(Level.INFO, PROPERTIES + " not found on the class path; using the defaults"));
        } else {
            try (InputStream in = url.openStream(); Reader reader = new InputStreamReader(in, StandardCharsets.UTF_8)) {
                props.load(reader);
            } catch (IOException | IllegalArgumentException e) {
                throw new ConfigException("cannot read " + url + ": " + e.getMessage());
            }
            // ${NAME} and ${NAME:-default} in values, as in Xitrum's config (port { http = ${PORT} }) on Heroku.
            for (String key : props.stringPropertyNames()) {
                props.setProperty(key, substitute(props.getProperty(key), env));
            }
        }

        Level level;
        String envLevel = nonEmpty(env.get("LOG_LEVEL"));
        if (envLevel != null) {
            level = Logs.parseLevel(envLevel);
            if (level == null) {
                throw new ConfigException("invalid LOG_LEVEL '" + envLevel + "': use TRACE, DEBUG, INFO, WARN, ERROR or OFF");
            }
        } else {
            level = logbackLevel(loader, env, notes);
        }
        return new AppConfig(props, level, env, notes);
    }

    /** The level of {@code <root>} in logback.xml: {@code <root level="INFO">} or {@code <root><level value="INFO"/>}. */
    private static Level logbackLevel(ClassLoader loader, Map<String, String> env, List<Note> notes) {
        URL url = resource(loader, LOGBACK, notes);
        if (url == null) {
            notes.add(new Note(Level.INFO, LOGBACK + " not found on the class path; logging at INFO"));
            return Level.INFO;
        }
        String value;
        try (InputStream in = url.openStream()) {
            value = rootLevel(in);
        } catch (IOException | SAXException | ParserConfigurationException e) {
            notes.add(new Note(Level.WARNING, "cannot read " + url + " (" + e.getMessage() + "); logging at INFO"));
            return Level.INFO;
        }
        if (value == null) {
            // logback's own default for a root logger without a level
            notes.add(new Note(Level.INFO, LOGBACK + " sets no level on <root>; logging at DEBUG, as logback does"));
            return Level.FINE;
        }
        String resolved = substitute(value, env);
        Level level = Logs.parseLevel(resolved);
        if (level == null) {
            notes.add(new Note(Level.WARNING, "unknown level '" + resolved + "' on <root> in " + LOGBACK + "; logging at INFO"));
            return Level.INFO;
        }
        return level;
    }

    /** {@code name} on the class path, else the packaged copy of {@code config/name}; null without either. */
    private static URL resource(ClassLoader loader, String name, List<Note> notes) {
        URL url = loader.getResource(name);
        if (url == null) {
            url = loader.getResource(PACKAGED + name);
            if (url != null) {
                notes.add(new Note(Level.INFO, name + " not found on the class path; using the copy of config/" + name
                        + " packaged in the jar"));
            }
        }
        return url;
    }

    private static String rootLevel(InputStream in) throws IOException, SAXException, ParserConfigurationException {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        factory.setXIncludeAware(false);
        factory.setExpandEntityReferences(false);
        DocumentBuilder builder = factory.newDocumentBuilder();
        builder.setErrorHandler(null);
        Document doc = builder.parse(in);
        NodeList roots = doc.getDocumentElement().getElementsByTagName("root");
        if (roots.getLength() == 0) {
            return null;
        }
        Element root = (Element) roots.item(0);
        if (root.hasAttribute("level")) {
            return root.getAttribute("level").trim();
        }
        for (Node child = root.getFirstChild(); child != null; child = child.getNextSibling()) {
            if (child instanceof Element && "level".equals(((Element) child).getTagName())) {
                return ((Element) child).getAttribute("value").trim();
            }
        }
        return null;
    }

    /** logback's variable syntax, {@code ${NAME}} and {@code ${NAME:-default}}, from system properties then the environment. */
    static String substitute(String value, Map<String, String> env) {
        Matcher m = VARIABLE.matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String found = System.getProperty(m.group(1));
            if (found == null) {
                found = env.get(m.group(1));
            }
            if (found == null || found.isEmpty()) {
                found = m.group(2) != null ? m.group(2) : "";
            }
            m.appendReplacement(out, Matcher.quoteReplacement(found));
        }
        m.appendTail(out);
        return out.toString().trim();
    }

    private static int port(String value, String source) throws ConfigException {
        try {
            int port = Integer.parseInt(value);
            if (port >= 1 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new ConfigException("invalid " + source + " '" + value + "': must be a port number from 1 to 65535");
    }

    private static long number(Properties props, String key, long dflt, long min, long max) throws ConfigException {
        String value = props.getProperty(key);
        if (value == null || value.isBlank()) {
            return dflt;
        }
        try {
            long n = Long.parseLong(value.trim());
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new ConfigException("invalid " + key + " '" + value.trim() + "' in " + PROPERTIES + ": must be a number from "
                + min + " to " + max);
    }

    /** The environment variable when set, else the property; null when both are empty. */
    private static String setting(Properties props, Map<String, String> env, String key, String variable) {
        String value = nonEmpty(env.get(variable));
        return value != null ? value : nonEmpty(props.getProperty(key));
    }

    private static String nonEmpty(String value) {
        return value == null || value.trim().isEmpty() ? null : value.trim();
    }

    String host() {
        return host;
    }

    int port() {
        return port;
    }

    Level level() {
        return level;
    }

    int threads() {
        return threads;
    }

    int backlog() {
        return backlog;
    }

    Path publicDir() {
        return publicDir;
    }

    long shutdownDelayMillis() {
        return shutdownDelayMillis;
    }

    long shutdownTimeoutMillis() {
        return shutdownTimeoutMillis;
    }

    /** Whether the app serves HTTPS too (a keystore is given). */
    boolean https() {
        return sslContext != null;
    }

    int httpsPort() {
        return httpsPort;
    }

    /** The keystore's path; null without HTTPS. */
    Path keystore() {
        return keystore;
    }

    /** The TLS context made from the keystore; null without HTTPS. */
    SSLContext sslContext() {
        return sslContext;
    }

    List<Note> notes() {
        return notes;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "host=%s port=%d%s level=%s threads=%d", host, port,
                https() ? " https.port=" + httpsPort : "", Logs.levelName(level), threads);
    }
}
