package io.asyncify4j.samples;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/** The samples, by name. */
public final class Samples {
    private Samples() {}

    public static List<Sample> all() {
        return List.of(new SleepSample(), new GeneratorSample(), new PureWasmSample(), new TimesliceSample());
    }

    public static Optional<Sample> byName(String name) {
        return all().stream().filter(s -> s.name().equals(name)).findFirst();
    }

    /** The text of a resource next to the samples ({@code .wat} files). */
    static String resource(String name) {
        try (InputStream in = Samples.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("sample resource missing: " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
