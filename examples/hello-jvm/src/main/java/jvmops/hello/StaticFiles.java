package jvmops.hello;

import com.sun.net.httpserver.HttpExchange;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;

/**
 * Files under the public directory (relative to the working directory, like Xitrum's {@code public/}).
 * Nothing outside it is ever served: {@code .} and {@code ..} segments, in any encoding, are refused,
 * and symbolic links must resolve inside it.
 */
final class StaticFiles {
    private static final Map<String, String> TYPES = Map.ofEntries(
            Map.entry("html", "text/html; charset=utf-8"),
            Map.entry("htm", "text/html; charset=utf-8"),
            Map.entry("css", "text/css; charset=utf-8"),
            Map.entry("js", "text/javascript; charset=utf-8"),
            Map.entry("json", "application/json"),
            Map.entry("png", "image/png"),
            Map.entry("svg", "image/svg+xml"),
            Map.entry("txt", "text/plain; charset=utf-8"),
            Map.entry("ico", "image/x-icon"));

    /** Thrown for a path that tries to leave the public directory. */
    static final class Forbidden extends Exception {
        private static final long serialVersionUID = 1L;

        Forbidden(String message) {
            super(message);
        }
    }

    private final Path root;

    StaticFiles(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    Path root() {
        return root;
    }

    void serve(HttpExchange ex, String rawPath) throws IOException {
        Path file;
        try {
            file = resolve(rawPath);
        } catch (IllegalArgumentException e) {
            Http.text(ex, 400, "Bad Request\n");
            return;
        } catch (Forbidden e) {
            Http.text(ex, 403, "Forbidden\n");
            return;
        }
        BasicFileAttributes attrs;
        try {
            if (Files.isDirectory(file)) {
                file = file.resolve("index.html");
            }
            // Symbolic links are fine as long as they stay inside the public directory.
            Path real = file.toRealPath();
            if (!real.startsWith(root.toRealPath())) {
                Http.text(ex, 403, "Forbidden\n");
                return;
            }
            attrs = Files.readAttributes(real, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            file = real;
        } catch (IOException e) {
            // missing, not a directory on the way, unreadable: all the same to a client
            Http.text(ex, 404, "Not Found\n");
            return;
        }
        if (!attrs.isRegularFile()) {
            Http.text(ex, 404, "Not Found\n");
            return;
        }

        long size = attrs.size();
        ex.getResponseHeaders().set("Content-Type", contentType(file));
        ex.getResponseHeaders().set("Last-Modified", DateTimeFormatter.RFC_1123_DATE_TIME.format(
                attrs.lastModifiedTime().toInstant().atOffset(ZoneOffset.UTC)));
        if (Http.isHead(ex) || size == 0) {
            Http.sendHeaders(ex, 200, size);
            return;
        }
        try (InputStream in = Files.newInputStream(file)) {
            Http.sendHeaders(ex, 200, size);
            try (OutputStream out = ex.getResponseBody()) {
                byte[] buf = new byte[16 * 1024];
                long left = size;
                while (left > 0) {
                    int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                    if (n < 0) {
                        throw new IOException("file shrank while being sent: " + file);
                    }
                    out.write(buf, 0, n);
                    left -= n;
                }
            }
        }
    }

    /**
     * The file a request path names. Decodes %XX once (strictly, as UTF-8), then resolves segment by
     * segment, so "/a/%2e%2e/b", "/..%2fx" and "/..\x" are all refused.
     *
     * @throws IllegalArgumentException for a malformed path (bad %-escape, invalid UTF-8, NUL)
     * @throws Forbidden for a path that names something outside the public directory
     */
    Path resolve(String rawPath) throws Forbidden {
        String path = decode(rawPath == null ? "/" : rawPath);
        Path file = root;
        for (String segment : path.split("/")) {
            if (segment.isEmpty()) {
                continue;
            }
            if (".".equals(segment) || "..".equals(segment) || segment.indexOf('\\') >= 0) {
                throw new Forbidden(rawPath);
            }
            file = file.resolve(segment);
        }
        file = file.normalize();
        if (!file.startsWith(root)) {
            throw new Forbidden(rawPath);
        }
        return file;
    }

    static String decode(String raw) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                if (i + 2 >= raw.length()) {
                    throw new IllegalArgumentException("truncated %-escape");
                }
                int hi = Character.digit(raw.charAt(i + 1), 16);
                int lo = Character.digit(raw.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    throw new IllegalArgumentException("bad %-escape");
                }
                bytes.write(hi * 16 + lo);
                i += 2;
            } else if (c < 0x80) {
                bytes.write(c);
            } else {
                byte[] utf8 = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                bytes.write(utf8, 0, utf8.length);
            }
        }
        String decoded;
        try {
            decoded = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toByteArray()))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("not UTF-8", e);
        }
        if (decoded.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("NUL in path");
        }
        return decoded;
    }

    static String contentType(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String ext = dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
        return TYPES.getOrDefault(ext, "application/octet-stream");
    }
}
