import { runEmulatorCli } from '../common/cli.js';
import { readCliOptions, USAGE } from './cli-options.js';
import { startResendEmulator } from './server.js';

runEmulatorCli({
  label: 'Resend emulator',
  usage: USAGE,
  read: readCliOptions,
  start: startResendEmulator,
  describe: (emulator) => [
    `Resend emulator listening on ${emulator.url}`,
    ...emulator
      .webhookEndpoints()
      .map(
        (endpoint) =>
          `Resend emulator: webhook events go to ${endpoint.url} (signing secret ${endpoint.secret})`,
      ),
  ],
});
