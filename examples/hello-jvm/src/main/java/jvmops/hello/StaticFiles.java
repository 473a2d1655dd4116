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
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Files under the public directory (relative to the working directory, like Xitrum's {@code public/}).
 * Nothing outside it is ever served: {@code .} and {@code ..} segments, in any encoding, are refused,
 * and symbolic links must resolve inside it.
 *
 * <p>Without that directory (run as {@code java -jar} from elsewhere, or in a servlet container) the
 * files come from the copy of {@code public/} that build.sh packages into the jar: only the files its
 * index lists are served.
 */
final class StaticFiles {
    /** Where build.sh packages public/ in the jar, and the index of those files (one relative path a line, UTF-8). */
    static final String PACKAGED = "jvmops/hello/public/";
    static final String PACKAGED_INDEX = "jvmops/hello/public.index";

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
    private final ClassLoader loader;
    private final Set<String> packaged;

    StaticFiles(Path root) {
        this.root = root.toAbsolutePath().normalize();
        this.loader = null;
        this.packaged = Set.of();
    }

    private StaticFiles(ClassLoader loader, Set<String> packaged) {
        this.root = null;
        this.loader = loader;
        this.packaged = Set.copyOf(packaged);
    }

    /** The directory {@code dir} when there is one, else the packaged copy, else {@code dir} all the same (every file 404). */
    static StaticFiles find(Path dir, ClassLoader loader) {
        if (!Files.isDirectory(dir)) {
            StaticFiles copy = packaged(loader);
            if (copy != null) {
                return copy;
            }
        }
        return new StaticFiles(dir);
    }

    /** The copy of public/ packaged in the jar; null when the class path has none (a jar built otherwise). */
    static StaticFiles packaged(ClassLoader loader) {
        Set<String> names = new HashSet<>();
        try (InputStream in = loader.getResourceAsStream(PACKAGED_INDEX)) {
            if (in == null) {
                return null;
            }
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isEmpty()) {
                    names.add(line);
                }
            }
        } catch (IOException e) {
            return null;
        }
        return new StaticFiles(loader, names);
    }

    /** The public directory; null when the files come from the jar. */
    Path root() {
        return root;
    }

    @Override
    public String toString() {
        return root != null ? root.toString() : "the jar (" + packaged.size() + " files under " + PACKAGED + ")";
    }

    void serve(HttpExchange ex, String rawPath) throws IOException {
        Path file;
        try {
            if (root == null) {
                servePackaged(ex, String.join("/", segments(rawPath)));
                return;
            }
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

    /** A packaged file: {@code name}, or the index.html of the directory {@code name} ("" for the top). */
    private void servePackaged(HttpExchange ex, String name) throws IOException {
        String file = packaged.contains(name) ? name : name.isEmpty() ? "index.html" : name + "/index.html";
        byte[] body = null;
        if (packaged.contains(file)) {
            try (InputStream in = loader.getResourceAsStream(PACKAGED + file)) {
                body = in == null ? null : in.readAllBytes();
            }
        }
        if (body == null) {
            Http.text(ex, 404, "Not Found\n");
            return;
        }
        Http.send(ex, 200, contentType(file), body);
    }

    /**
     * The file a request path names. Decodes %XX once (strictly, as UTF-8), then resolves segment by
     * segment, so "/a/%2e%2e/b", "/..%2fx" and "/..\x" are all refused.
     *
     * @throws IllegalArgumentException for a malformed path (bad %-escape, invalid UTF-8, NUL)
     * @throws Forbidden for a path that names something outside the public directory
     */
    Path resolve(String rawPath) throws Forbidden {
        Path file = root;
        for (String segment : segments(rawPath)) {
            file = file.resolve(segment);
        }
        file = file.normalize();
        if (!file.startsWith(root)) {
            throw new Forbidden(rawPath);
        }
        return file;
    }

    /** The non-empty segments of a request path, decoded; refuses ".", ".." and backslashes. */
    static List<String> segments(String rawPath) throws Forbidden {
        String path = decode(rawPath == null ? "/" : rawPath);
        List<String> segments = new ArrayList<>();
        for (String segment : path.split("/")) {
            if (segment.isEmpty()) {
                continue;
            }
            if (".".equals(segment) || "..".equals(segment) || segment.indexOf('\\') >= 0) {
                throw new Forbidden(rawPath);
            }
            segments.add(segment);
        }
        return segments;
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
        return contentType(file.getFileName().toString());
    }

    static String contentType(String name) {
        int dot = name.lastIndexOf('.');
        String ext = dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
        return TYPES.getOrDefault(ext, "application/octet-stream");
    }
}
