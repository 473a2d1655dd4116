package jvmops.hello;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Arrays;
import java.util.Collections;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * The HTTPS server's TLS context, from a PKCS12 keystore (its private key and certificate chain) and a file that
 * holds the keystore's password, as jvm_app installs them (HTTPS_KEYSTORE, HTTPS_KEYSTORE_PASSWORD_FILE). The
 * password is read from a file so that it is neither in the environment nor in the process manager's files.
 */
final class Tls {
    private Tls() {
    }

    /**
     * Loads the keystore. The password is the file's content without one trailing line end. Every failure (a file
     * that cannot be read, a wrong password, no private key) is a {@link ConfigException} naming the file, never
     * the password.
     */
    static SSLContext context(Path keystore, Path passwordFile) throws ConfigException {
        char[] password = password(passwordFile);
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(keystore)) {
                store.load(in, password);
            } catch (IOException e) {
                // A file that is no PKCS12 keystore at all ends the parser early, without a message.
                String reason = e.getMessage() == null || e.getMessage().isEmpty() ? "not a PKCS12 keystore, or a damaged one"
                        : describe(e);
                throw new ConfigException("cannot read the HTTPS keystore " + keystore + " (with the password in "
                        + passwordFile + "): " + reason);
            }
            boolean hasKey = false;
            for (String alias : Collections.list(store.aliases())) {
                hasKey |= store.isKeyEntry(alias);
            }
            if (!hasKey) {
                throw new ConfigException("the HTTPS keystore " + keystore + " holds no private key");
            }
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new ConfigException("cannot use the HTTPS keystore " + keystore + ": " + describe(e));
        } finally {
            Arrays.fill(password, '\0');
        }
    }

    private static char[] password(Path file) throws ConfigException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException("cannot read the HTTPS keystore password file " + file + ": " + describe(e));
        }
        if (text.endsWith("\n")) {
            text = text.substring(0, text.length() - (text.endsWith("\r\n") ? 2 : 1));
        }
        return text.toCharArray();
    }

    private static String describe(Exception e) {
        if (e instanceof NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        Throwable cause = e;
        while (cause.getCause() != null && (cause.getMessage() == null || cause.getMessage().isEmpty())) {
            cause = cause.getCause();
        }
        String message = cause.getMessage();
        return message == null || message.isEmpty() ? cause.getClass().getSimpleName() : message;
    }
}
