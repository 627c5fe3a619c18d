// The `datarater` command line: serve, worker, import, export, demo and the job commands.
import { Command, InvalidArgumentError } from 'commander';
import { registerCommands } from './cli/register.js';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startServer } from './server/app.js';

const program = new Command()
  .name('datarater')
  .description('DataRater Server: meta-learned dataset curation over GraphQL')
  .showHelpAfterError();

program
  .command('serve')
  .description(
    'Serve GraphQL, uploads and the dashboard (and run a worker unless IN_PROCESS_WORKER=false)',
  )
  .option('-p, --port <port>', 'HTTP port (default: PORT or 4000)', parsePort)
  .action(async (options: { port?: number }) => {
    const config = loadConfig();
    if (options.port !== undefined) config.port = options.port;
    const logger = createLogger(config.logLevel);
    const server = await startServer({ config, logger });
    stopOnSignals(logger, () => server.close());
  });

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError('expected an integer from 0 to 65535.');
  }
  return port;
}

/** Runs `stop` once on SIGINT or SIGTERM, then exits; a second signal exits at once. */
export function stopOnSignals(
  logger: { info(obj: object, msg: string): void },
  stop: () => Promise<void>,
): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

registerCommands(program, stopOnSignals);

await program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
