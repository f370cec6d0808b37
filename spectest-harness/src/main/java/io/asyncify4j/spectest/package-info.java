/**
 * The WebAssembly spec-test harness: runs {@code .wast} scripts of the official testsuite against
 * Endive, in several modes.
 *
 * <ul>
 *   <li>{@link io.asyncify4j.spectest.SpecTestRunner} converts scripts with wabt's wast2json
 *       ({@link io.asyncify4j.spectest.wast.WastConverter}, cached by content) and runs their commands
 *       ({@link io.asyncify4j.spectest.ScriptRunner}) on big-stack worker threads.</li>
 *   <li>{@link io.asyncify4j.spectest.SpecMode} names the modes; each supplies a
 *       {@link io.asyncify4j.spectest.ModePipeline} (a byte transform plus instantiation and call
 *       hooks).</li>
 *   <li>{@link io.asyncify4j.spectest.ExpectedFailures} is the list of known engine limitations
 *       ({@code expected-failures.txt}), shared by all modes.</li>
 *   <li>{@link io.asyncify4j.spectest.Testsuite} finds the testsuite and selects scripts.</li>
 *   <li>{@link io.asyncify4j.spectest.host.SpectestHost} is the standard {@code spectest} module.</li>
 * </ul>
 *
 * <p>Counting: every command of a script counts once as passed, failed, or skipped. Skipped are
 * commands that cannot run (text-format modules wabt left as {@code .wat}, commands on a module that
 * failed to load, unknown commands), whole scripts wabt cannot convert (one each), and expected
 * failures — failures matching the expected-failure list, which are reported separately but add to
 * the skipped figure. Summary lines read exactly {@code N passed, M failed, K skipped}; a run succeeds
 * when M (unexpected failures) is 0. An expected-failure entry whose command passes is reported as a
 * warning.
 *
 * <p>The library logs through SLF4J and writes nothing to stdout itself: printing goes to the
 * {@link io.asyncify4j.spectest.host.PrintSink} and report writers the caller passes in.
 */
package io.asyncify4j.spectest;
