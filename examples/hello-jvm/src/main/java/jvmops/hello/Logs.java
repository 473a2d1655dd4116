package jvmops.hello;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * java.util.logging with logback's level names, one line per record on stdout:
 * {@code 2026-11-22T07:00:00Z INFO message}.
 */
final class Logs {
    private Logs() {
    }

    /**
     * Sets up logging and returns the application's logger. The logger is anonymous: LogManager's own
     * shutdown hook resets named loggers, and the shutdown messages must still get out.
     */
    static Logger setup(Level level) {
        Handler handler = new StdoutHandler(System.out);
        LogManager.getLogManager().reset();
        // Other JDK loggers (com.sun.net.httpserver ...) go through the root logger: warnings and errors only.
        Logger root = Logger.getLogger("");
        root.setLevel(level.intValue() > Level.WARNING.intValue() ? level : Level.WARNING);
        root.addHandler(handler);

        Logger log = Logger.getAnonymousLogger();
        log.setUseParentHandlers(false);
        log.setLevel(level);
        log.addHandler(handler);
        return log;
    }

    /** TRACE, DEBUG, INFO, WARN, ERROR, OFF, ALL (case-insensitive) as a JUL level; null when unknown. */
    static Level parseLevel(String name) {
        switch (name.trim().toUpperCase(Locale.ROOT)) {
            case "ALL":
                return Level.ALL;
            case "TRACE":
                return Level.FINEST;
            case "DEBUG":
                return Level.FINE;
            case "INFO":
                return Level.INFO;
            case "WARN":
            case "WARNING":
                return Level.WARNING;
            case "ERROR":
                return Level.SEVERE;
            case "OFF":
                return Level.OFF;
            default:
                return null;
        }
    }

    static String levelName(Level level) {
        int v = level.intValue();
        if (v >= Level.SEVERE.intValue()) {
            return v == Level.OFF.intValue() ? "OFF" : "ERROR";
        }
        if (v >= Level.WARNING.intValue()) {
            return "WARN";
        }
        if (v >= Level.INFO.intValue()) {
            return "INFO";
        }
        if (v >= Level.FINE.intValue()) {
            return "DEBUG";
        }
        return "TRACE";
    }

    /** Writes and flushes each record at once, so supervisors and `journalctl -f` see lines as they happen. */
    private static final class StdoutHandler extends Handler {
        private final PrintStream out;

        StdoutHandler(PrintStream out) {
            this.out = out;
            setLevel(Level.ALL);
        }

        @Override
        public void publish(LogRecord record) {
            if (record == null || !isLoggable(record)) {
                return;
            }
            StringBuilder line = new StringBuilder(128);
            line.append(DateTimeFormatter.ISO_INSTANT.format(record.getInstant().truncatedTo(ChronoUnit.SECONDS)))
                    .append(' ').append(levelName(record.getLevel())).append(' ');
            String message = record.getMessage();
            if (record.getParameters() != null && record.getParameters().length > 0 && message != null) {
                message = java.text.MessageFormat.format(message, record.getParameters());
            }
            line.append(message);
            if (record.getThrown() != null) {
                StringWriter trace = new StringWriter();
                record.getThrown().printStackTrace(new PrintWriter(trace));
                line.append(System.lineSeparator()).append(trace.toString().stripTrailing());
            }
            synchronized (this) {
                out.println(line);
                out.flush();
            }
        }

        @Override
        public void flush() {
            out.flush();
        }

        @Override
        public void close() {
            flush();
        }
    }
}
