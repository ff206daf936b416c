import { CliUsageError, readCliOptions, USAGE } from './cli-options.js';
import { startResendEmulator } from './server.js';

async function main(): Promise<void> {
  let options: ReturnType<typeof readCliOptions>;
  try {
    options = readCliOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof CliUsageError || error instanceof TypeError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (!options) {
    console.log(USAGE);
    return;
  }
  const emulator = await startResendEmulator(options);
  console.log(`Resend emulator listening on ${emulator.url}`);
  for (const endpoint of emulator.webhookEndpoints()) {
    console.log(
      `Resend emulator: webhook events go to ${endpoint.url} (signing secret ${endpoint.secret})`,
    );
  }
  const stop = () => {
    emulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('Resend emulator: failed to close:', error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error('Resend emulator failed to start:', error);
  process.exitCode = 1;
});
