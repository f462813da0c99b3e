// Who is on the other end of a loopback connection: one of Director's own executors, or anyone else.
// Without API tokens Director trusts loopback; a strict script runs on this host too, so loopback alone
// would hand it every task's config. The kernel knows which process owns the client's socket.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Socket } from 'node:net';

/**
 * True when the client end of `socket` belongs to one of `pids`. Linux only (procfs); false where it
 * cannot tell (no /proc, or the client's socket is already gone: then it can send nothing more either).
 */
export function isConnectionFrom(socket: Socket, pids: readonly number[]): boolean {
  if (pids.length === 0 || socket.remotePort === undefined || socket.localPort === undefined) return false;
  const inode = clientSocketInode(socket.remotePort, socket.localPort);
  if (inode === undefined) return false;
  const target = `socket:[${inode}]`;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return true;
      } catch {
        // closed meanwhile
      }
    }
  }
  return false;
}

/**
 * The inode of the TCP socket whose local port is the client's and whose remote port is ours: the
 * client's end of this connection. Ports alone identify it on loopback (an ephemeral port is not
 * reused while its connection lives), so addresses need not be parsed.
 */
function clientSocketInode(clientPort: number, serverPort: number): string | undefined {
  const local = `:${hexPort(clientPort)} `;
  const remote = `:${hexPort(serverPort)} `;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      if (`${fields[1]} `.endsWith(local) && `${fields[2]} `.endsWith(remote)) return fields[9];
    }
  }
  return undefined;
}

function hexPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

/** Remembers the answer per connection: a kept-alive connection is looked up once. */
export function createExecutorPeerCheck(pids: () => readonly number[]): (socket: Socket) => boolean {
  const known = new WeakMap<Socket, boolean>();
  return (socket) => {
    let answer = known.get(socket);
    if (answer === undefined) {
      answer = isConnectionFrom(socket, pids());
      known.set(socket, answer);
    }
    return answer;
  };
}
