package jvmops.hello;

/** A configuration mistake: reported on stderr as one line, exit status 2, no stack trace. */
final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    ConfigException(String message) {
        super(message);
    }
}
