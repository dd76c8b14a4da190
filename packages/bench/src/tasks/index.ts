import { agentTask } from './agent.js';
import { liveTask, longTask } from './memory.js';
import { loopTask } from './loop.js';
import { pushTask } from './push.js';
import { throughputTask } from './throughput.js';
import { turnsTask } from './turns.js';

/** Every task a bench child can run, by name. */
export const TASKS = {
  turns: turnsTask,
  loop: loopTask,
  throughput: throughputTask,
  live: liveTask,
  long: longTask,
  agent: agentTask,
  push: pushTask,
};
