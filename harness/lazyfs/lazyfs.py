#!/usr/bin/python3
"""
lazyfs.py BACKING MOUNTPOINT --control SOCKET

A pass-through FUSE file system (pyfuse3) that loses power on command, after Jepsen's LazyFS.
Writes, truncates, creates, unlinks and renames stay in this process's cache until fsync of the
file (data, size) or of its directory (names); model.py says exactly what is modelled. The
commands (crash, fault, clear, status, exit) come on a Unix socket: control.py.

Page cache and mmap: files are opened without direct_io, so the kernel may map them. SQLite maps
its WAL index (the -shm file) MAP_SHARED; FUSE supports that in this mode, and the dirty mapped
pages come back here as ordinary writes (never synced by SQLite, so a crash drops them, and
SQLite rebuilds the index from the WAL on the next open, as after a real power cut).
"""
import argparse, errno, faulthandler, os, random, signal, stat, sys, time
import pyfuse3
import trio
from pyfuse3 import FUSEError
from control import serve_control
from model import Dir, File, cut, scan, sync_dir

TIMEOUT = 1.0  # attribute and entry cache, s: every change goes through this mount's kernel side


class LazyFs(pyfuse3.Operations):
    def __init__(self, backing: bytes):
        super().__init__()
        self.nodes: dict = {}
        self.next_ino = pyfuse3.ROOT_INODE
        self.crashed = False
        self.exiting = False
        self.fault = None  # (errno, ops, match, count or None)
        self.counts = {'mutations': 0, 'writes': 0, 'bytes_written': 0, 'fsyncs': 0, 'dir_fsyncs': 0, 'synced_bytes': 0, 'faults_hit': 0}
        self.crash_after = None  # (mutations left, torn seed or None): `crash after=N`
        self.root = self._add(Dir(0, backing, b''))
        scan(self.root, self._add)

    # -- the inode table --------------------------------------------------------------------------

    def _add(self, node):
        node.ino = self.next_ino
        self.next_ino += 1
        self.nodes[node.ino] = node
        return node

    def _node(self, ino: int):
        if self.crashed:
            raise FUSEError(errno.EIO)  # the power is off: nothing until a remount
        node = self.nodes.get(ino)
        if node is None:
            raise FUSEError(errno.ENOENT)
        return node

    def _dir(self, ino: int) -> Dir:
        node = self._node(ino)
        if not isinstance(node, Dir):
            raise FUSEError(errno.ENOTDIR)
        return node

    def _check_fault(self, op: str, node: File) -> None:
        if self.fault is None:
            return
        code, ops, match, count = self.fault
        if op not in ops or match not in node.label:
            return
        self.fault = None if count == 1 else (code, ops, match, None if count is None else count - 1)
        self.counts['faults_hit'] += 1
        raise FUSEError(code)

    def power_cut(self, torn_seed=None) -> dict:
        """The power goes: everything unsynced is dropped, and every later operation fails."""
        outcome = cut([node for node in self.nodes.values() if isinstance(node, File)], None if torn_seed is None else random.Random(torn_seed))
        self.crashed, self.nodes, self.crash_after = True, {}, None
        return outcome

    def _mutation(self) -> None:
        """Every operation that changes something passes here: `crash after=N` cuts the power instead of the Nth."""
        self.counts['mutations'] += 1
        if self.crash_after is not None:
            left, seed = self.crash_after
            self.crash_after = (left - 1, seed)
            if left <= 1:
                self.power_cut(seed)
                raise FUSEError(errno.EIO)

    def _forget_if_gone(self, node: File) -> None:
        if node.links == 0 and node.opens == 0 and node.home is None:
            del self.nodes[node.ino]

    def _attrs(self, node) -> pyfuse3.EntryAttributes:
        attrs = pyfuse3.EntryAttributes()
        if isinstance(node, Dir):
            st = os.stat(node.path)
            attrs.st_mode, attrs.st_nlink, attrs.st_size = st.st_mode, st.st_nlink, st.st_size
            attrs.st_uid, attrs.st_gid = st.st_uid, st.st_gid
            attrs.st_atime_ns, attrs.st_mtime_ns, attrs.st_ctime_ns = st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns
        else:
            attrs.st_mode, attrs.st_nlink, attrs.st_size = stat.S_IFREG | node.mode, node.links, node.size
            attrs.st_uid, attrs.st_gid = node.uid, node.gid
            attrs.st_atime_ns, attrs.st_mtime_ns, attrs.st_ctime_ns = node.atime_ns, node.mtime_ns, node.ctime_ns
        attrs.st_ino, attrs.st_blksize, attrs.st_blocks = node.ino, 4096, (attrs.st_size + 511) // 512
        attrs.attr_timeout = attrs.entry_timeout = TIMEOUT
        return attrs

    # -- names ------------------------------------------------------------------------------------

    async def lookup(self, parent_inode, name, ctx):
        node = self._dir(parent_inode).entries.get(name) if name not in (b'.', b'..') else None
        if name == b'.':
            node = self._node(parent_inode)
        if node is None:
            raise FUSEError(errno.ENOENT)
        return self._attrs(node)

    async def getattr(self, inode, ctx):
        return self._attrs(self._node(inode))

    async def setattr(self, inode, attr, fields, fh, ctx):
        node = self._node(inode)
        self._mutation()
        if isinstance(node, Dir):
            if fields.update_mode:
                os.chmod(node.path, stat.S_IMODE(attr.st_mode))
            if fields.update_mtime or fields.update_atime:
                st = os.stat(node.path)
                os.utime(node.path, ns=(attr.st_atime_ns if fields.update_atime else st.st_atime_ns, attr.st_mtime_ns if fields.update_mtime else st.st_mtime_ns))
            return self._attrs(node)
        if fields.update_size:
            self._check_fault('write', node)
            node.truncate(attr.st_size)
            node.mtime_ns = time.time_ns()
        if fields.update_mode:
            node.mode = stat.S_IMODE(attr.st_mode)
        if fields.update_uid:
            node.uid = attr.st_uid
        if fields.update_gid:
            node.gid = attr.st_gid
        if fields.update_atime:
            node.atime_ns = attr.st_atime_ns
        if fields.update_mtime:
            node.mtime_ns = attr.st_mtime_ns
        node.ctime_ns = time.time_ns()
        return self._attrs(node)

    async def create(self, parent_inode, name, mode, flags, ctx):
        directory = self._dir(parent_inode)
        self._mutation()
        if name in directory.entries:
            raise FUSEError(errno.EEXIST)
        node = self._add(File(0, stat.S_IMODE(mode), ctx.uid, ctx.gid))
        node.mtime_ns = node.ctime_ns = node.atime_ns = time.time_ns()
        node.links, node.opens, node.label = 1, 1, os.path.join(directory.label, name)
        directory.entries[name] = node  # live only: durable once the directory is fsynced
        return pyfuse3.FileInfo(fh=node.ino), self._attrs(node)

    async def unlink(self, parent_inode, name, ctx):
        directory = self._dir(parent_inode)
        self._mutation()
        node = directory.entries.get(name)
        if node is None:
            raise FUSEError(errno.ENOENT)
        if isinstance(node, Dir):
            raise FUSEError(errno.EISDIR)
        del directory.entries[name]
        node.links = 0
        self._forget_if_gone(node)

    async def rename(self, parent_inode_old, name_old, parent_inode_new, name_new, flags, ctx):
        source, target = self._dir(parent_inode_old), self._dir(parent_inode_new)
        self._mutation()
        node = source.entries.get(name_old)
        if node is None:
            raise FUSEError(errno.ENOENT)
        if isinstance(node, Dir) or flags & pyfuse3.RENAME_EXCHANGE:
            raise FUSEError(errno.EXDEV)  # not modelled; mv(1) falls back to copying
        replaced = target.entries.get(name_new)
        if replaced is node:
            return
        if replaced is not None:
            if flags & pyfuse3.RENAME_NOREPLACE:
                raise FUSEError(errno.EEXIST)
            if isinstance(replaced, Dir):
                raise FUSEError(errno.EISDIR)
            replaced.links = 0
            self._forget_if_gone(replaced)
        del source.entries[name_old]
        target.entries[name_new] = node
        node.label, node.ctime_ns = os.path.join(target.label, name_new), time.time_ns()

    async def mkdir(self, parent_inode, name, mode, ctx):
        directory = self._dir(parent_inode)
        self._mutation()
        if name in directory.entries:
            raise FUSEError(errno.EEXIST)
        path = os.path.join(directory.path, name)
        os.mkdir(path, stat.S_IMODE(mode))  # directories are durable at once (not modelled)
        node = self._add(Dir(0, path, os.path.join(directory.label, name)))
        directory.entries[name] = node
        return self._attrs(node)

    async def rmdir(self, parent_inode, name, ctx):
        directory = self._dir(parent_inode)
        self._mutation()
        node = directory.entries.get(name)
        if not isinstance(node, Dir):
            raise FUSEError(errno.ENOTDIR if node else errno.ENOENT)
        if node.entries:
            raise FUSEError(errno.ENOTEMPTY)
        for leftover in list(node.homes.values()):  # unlinked, never synced: gone with the directory
            leftover.lose_home(keep_bytes=leftover.opens > 0)
            self._forget_if_gone(leftover)
        os.rmdir(node.path)
        del directory.entries[name]
        del self.nodes[node.ino]

    async def opendir(self, inode, ctx):
        return self._dir(inode).ino

    async def readdir(self, fh, start_id, token):
        entries = sorted(self._dir(fh).entries.items())
        for index in range(start_id, len(entries)):
            name, node = entries[index]
            if not pyfuse3.readdir_reply(token, name, self._attrs(node), index + 1):
                break

    async def fsyncdir(self, fh, datasync):
        directory = self._dir(fh)
        self._mutation()
        sync_dir(directory)
        self.counts['dir_fsyncs'] += 1

    async def releasedir(self, fh):
        pass

    async def statfs(self, ctx):
        self._node(pyfuse3.ROOT_INODE)
        st, data = os.statvfs(self.root.path), pyfuse3.StatvfsData()
        for field in ('f_bsize', 'f_frsize', 'f_blocks', 'f_bfree', 'f_bavail', 'f_files', 'f_ffree', 'f_favail', 'f_namemax'):
            setattr(data, field, getattr(st, field))
        return data

    # -- data ---------------------------------------------------------------------------------------

    async def open(self, inode, flags, ctx):
        node = self._node(inode)
        if isinstance(node, Dir):
            raise FUSEError(errno.EISDIR)
        if flags & os.O_TRUNC:
            node.truncate(0)
        node.opens += 1
        return pyfuse3.FileInfo(fh=node.ino)  # no direct_io: the kernel may mmap it (SQLite's -shm)

    async def read(self, fh, off, size):
        return self._node(fh).read(off, size)

    async def write(self, fh, off, buf):
        node = self._node(fh)
        self._mutation()
        self._check_fault('write', node)
        node.write(off, buf)
        node.mtime_ns = time.time_ns()
        self.counts['writes'] += 1
        self.counts['bytes_written'] += len(buf)
        return len(buf)

    async def fsync(self, fh, datasync):
        node = self._node(fh)
        self._mutation()
        self._check_fault('fsync', node)  # the dirty pages stay: reads see them, the disk does not
        self.counts['synced_bytes'] += node.sync()
        self.counts['fsyncs'] += 1

    async def flush(self, fh):
        self._node(fh)  # close(2) is no sync

    async def release(self, fh):
        node = self.nodes.get(fh)
        if node is not None and not self.crashed:
            node.opens -= 1
            self._forget_if_gone(node)


async def run(fs: LazyFs, control: str) -> None:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_control, fs, control)

        async def on_signals() -> None:
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for _ in signals:
                    pyfuse3.terminate()  # ends main(); close() then unmounts

        nursery.start_soon(on_signals)
        await pyfuse3.main()  # returns when unmounted (umount, fusermount3 -u) or terminated
        nursery.cancel_scope.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('backing')
    parser.add_argument('mountpoint')
    parser.add_argument('--control', required=True, help='Unix socket path for the commands')
    args = parser.parse_args()
    faulthandler.register(signal.SIGUSR1)  # kill -USR1 prints every thread's stack: for a mount that hangs
    fs = LazyFs(os.fsencode(os.path.abspath(args.backing)))
    options = set(pyfuse3.default_options) | {'fsname=lazyfs', 'subtype=lazyfs'}
    pyfuse3.init(fs, args.mountpoint, options)
    try:
        trio.run(run, fs, args.control)
    finally:
        pyfuse3.close(unmount=not fs.exiting)
        if os.path.exists(args.control):
            os.unlink(args.control)


if __name__ == '__main__':
    sys.exit(main())
