import run.endive.wasi.WasiOptions;
import io.asyncify4j.host.AsyncImport;
import io.asyncify4j.host.AsyncInstance;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

public class PluginHost {
    public static void main(String[] args) throws Exception {
        try (AsyncInstance plugin = AsyncInstance.builder(Path.of(args[0]))   // a clang-built wasm32-wasi plugin
                .withWasi(WasiOptions.builder().inheritSystem().build())      // its printf goes to our stdout
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch",      // int fetch(int key), answered later
                        key -> CompletableFuture.supplyAsync(() -> 2 * key,
                                CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS))))
                .build()) {
            long[] result = plugin.call("handle", 1).get();               // suspends in fetch, holds no thread
            System.out.println("handle(1) = " + result[0]);
        }
    }
}
