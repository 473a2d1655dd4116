package jvmops.hello;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.util.Properties;

/** Version and build id, from the {@code build.properties} that build.sh writes into the jar. */
record BuildInfo(String version, String build) {
    static final String RESOURCE = "build.properties";

    static BuildInfo load(ClassLoader loader) {
        Properties props = new Properties();
        URL url = loader.getResource(RESOURCE);
        if (url != null) {
            try (InputStream in = url.openStream()) {
                props.load(in);
            } catch (IOException | IllegalArgumentException e) {
                props.clear();
            }
        }
        String version = value(props.getProperty("version"));
        if (version == null) {
            version = value(Main.class.getPackage().getImplementationVersion());
        }
        String build = value(props.getProperty("build"));
        return new BuildInfo(version == null ? "dev" : version, build == null ? "unknown" : build);
    }

    private static String value(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }
}
