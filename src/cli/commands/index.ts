import type { Command } from 'commander';

/** A sub-command of `xcs`. */
export interface CliModule {
  register(program: Command): void;
}

import * as validate from './validate.ts';
import * as schema from './schema.ts';
import * as imageCommands from './image-commands.ts';
import * as resolve from './resolve.ts';
import * as serve from './serve.ts';
import * as admin from './admin.ts';
import * as importDicom from './import-dicom.ts';
import * as launch from './launch.ts';
import * as containers from './containers.ts';
import * as logs from './logs.ts';
import * as kill from './kill.ts';
import * as relaunch from './relaunch.ts';
import * as provenance from './provenance.ts';
import * as exec from './exec.ts';
import * as label from './label.ts';
import * as init from './init.ts';
import * as testCases from './test.ts';
import * as database from './db.ts';

export const commandModules: CliModule[] = [validate, schema, imageCommands, resolve, serve, admin, importDicom, launch, containers, logs, kill, relaunch, provenance, init, exec, testCases, label, database];
