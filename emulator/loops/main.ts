import { runEmulatorCli } from '../common/cli.js';
import { readLoopsCliOptions, USAGE } from './cli-options.js';
import { startLoopsEmulator } from './server.js';

runEmulatorCli({
  label: 'Loops emulator',
  usage: USAGE,
  read: readLoopsCliOptions,
  start: startLoopsEmulator,
  describe: (emulator) => {
    const endpoint = emulator.webhookEndpoint();
    return [
      `Loops emulator listening on ${emulator.url} (SDK apiRoot ${emulator.apiRoot})`,
      ...emulator
        .mailingLists()
        .map((list) => `Loops emulator: mailing list ${list.id} (${list.name})`),
      ...(endpoint
        ? [
            `Loops emulator: webhook events go to ${endpoint.url} (signing secret ${endpoint.secret})`,
          ]
        : []),
    ];
  },
});
