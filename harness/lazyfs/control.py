"""
The control socket of lazyfs.py: one command per line, one JSON line back.

  crash [torn=SEED] [after=N]
                     the power goes: everything unsynced is dropped (torn: a random half of the
                     cached pages of durable files is written first); every later operation fails
                     with EIO until this process is unmounted and a new one mounts the backing dir.
                     after=N: not now but instead of the Nth operation from now that changes
                     something (write, truncate, fsync, create, unlink, rename, mkdir, rmdir)
  fault eio|enospc [ops=write,fsync] [match=TEXT] [count=N]
                     fail the chosen operations on files whose path in the mount contains TEXT,
                     N times or until `clear`; a failed write stores nothing, a failed fsync
                     leaves the pages cached (reads see them; the next fsync may still write them)
  clear              no more faults, and no armed crash
  status             a JSON line of counters
  exit               end the process (sent after umount: see below)

Commands run between file system requests (trio, one thread, handlers that never await), so a
crash falls between two operations, never inside one: an fsync that returned had reached the disk.
"""
import errno
import json
import os
import socket

import pyfuse3
import trio

from model import File


def command(fs, line: str) -> str:
    words = line.split()
    if words[:1] == ['crash']:
        options = dict(word.split('=', 1) for word in words[1:] if '=' in word)
        seed = int(options['torn']) if 'torn' in options else None
        if 'after' in options:  # armed: the power goes instead of the Nth operation that changes something
            fs.crash_after = (int(options['after']), seed)
            return json.dumps({'ok': True, 'armed': True})
        return json.dumps({'ok': True, **fs.power_cut(seed)})
    if words[:1] == ['fault'] and len(words) >= 2 and words[1] in ('eio', 'enospc'):
        options = dict(word.split('=', 1) for word in words[2:])
        ops = set(options.get('ops', 'write,fsync').split(','))
        count = int(options['count']) if 'count' in options else None
        fs.fault = (errno.EIO if words[1] == 'eio' else errno.ENOSPC, ops, os.fsencode(options.get('match', '')), count)
        return json.dumps({'ok': True})
    if words == ['clear']:
        fs.fault, fs.crash_after = None, None
        return json.dumps({'ok': True})
    if words == ['exit']:
        # Sent after umount. A mount namespace created while we were mounted (another
        # process's unshare, ip netns exec) holds a copy of the mount, and then umount here
        # does not end the FUSE connection; exiting does (the kernel aborts it).
        fs.exiting = True  # serve() ends the main loop once this answer is sent
        return json.dumps({'ok': True})
    if words == ['status']:
        dirty = sum(len(node.dirty) for node in fs.nodes.values() if isinstance(node, File)) * 4096
        return json.dumps({'ok': True, 'crashed': fs.crashed, 'fault': fs.fault is not None, 'dirty_bytes': dirty, **fs.counts})
    return json.dumps({'ok': False, 'error': f'unknown command: {line.strip()}'})


async def serve_control(fs, path: str) -> None:
    if os.path.exists(path):
        os.unlink(path)  # left by an earlier mount of the same dir that was killed
    listener = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    await listener.bind(path)
    listener.listen(16)
    print(json.dumps({'msg': 'mounted', 'control': path}), flush=True)  # the mount and the socket are up

    async def serve(connection) -> None:
        stream, buffered = trio.SocketStream(connection), b''
        async with stream:
            while chunk := await stream.receive_some(4096):
                buffered += chunk
                while b'\n' in buffered:
                    line, buffered = buffered.split(b'\n', 1)
                    await stream.send_all(command(fs, line.decode()).encode() + b'\n')
                    if fs.exiting:
                        pyfuse3.terminate()

    async with trio.open_nursery() as nursery:
        while True:
            connection, _ = await listener.accept()
            nursery.start_soon(serve, connection)
