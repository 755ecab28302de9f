"""
The durability model behind lazyfs.py: what survives a power cut, and what does not.

The backing directory always holds exactly the durable state: what a disk would still hold after
the power went. Everything else lives here, in memory, and is lost by a crash:

- File data: a write changes the file's live content only (4 KiB pages in `File.dirty`, over the
  synced bytes). fsync or fdatasync of the file writes its dirty pages and its size to the backing
  file (or, for a file that has no durable name yet, to its in-memory synced copy).
- Size changes: a truncate changes the live size; the synced bytes past it are hidden
  (`hidden_from`) until the next sync makes the shorter size durable.
- Names: create, unlink and rename of files change the live namespace (`Dir.entries`) only. A
  file's durable name (`File.home`) is what the backing dir lists; it changes when the directory
  is fsynced (`sync_dir`), as POSIX requires: a new file whose data was fsynced but whose directory
  was not is gone after a crash, and an unlink or rename not followed by a directory fsync is undone.
- Not modelled: directories themselves (mkdir and rmdir are durable at once; renaming one is
  refused), a rename between two directories is two halves (the old name goes when the old
  directory is synced, the new one comes when the new directory is), hard links and symlinks
  (refused), and file modes, owners and times (kept, but not as durable state).

A crash drops all of that. A torn crash first lets the "disk" have written a random half of the
cached pages of files that have a durable name, in no order: a real cut may persist any subset of
what was written since the last sync, so software must not rely on unsynced writes landing in order.
"""
import os
import random

PAGE = 4096
NEVER = 1 << 62  # `hidden_from` when nothing is hidden


class Dir:
    def __init__(self, ino: int, path: bytes, label: bytes):
        self.ino, self.path, self.label = ino, path, label  # label: the path inside the mount, for faults
        self.entries: dict = {}  # live namespace: name -> Dir | File
        self.homes: dict = {}  # durable namespace: name -> File whose synced bytes are backing/<path>/<name>


class File:
    def __init__(self, ino: int, mode: int, uid: int, gid: int):
        self.ino, self.mode, self.uid, self.gid = ino, mode, uid, gid
        self.mtime_ns = self.ctime_ns = self.atime_ns = 0
        self.label = b''
        self.home = None  # (Dir, name): its durable name, or None
        self.fd = None  # an fd on the backing file of its home
        self.orphan = bytearray()  # its synced bytes while it has no durable name
        self.synced_size = 0
        self.hidden_from = NEVER
        self.dirty: dict = {}  # page index -> bytearray(PAGE), the live page
        self.size = 0
        self.links = 0  # live names (0 or 1: no hard links)
        self.opens = 0

    def backing_fd(self) -> int:
        if self.fd is None:
            directory, name = self.home
            self.fd = os.open(os.path.join(directory.path, name), os.O_RDWR)
        return self.fd

    def _synced(self, offset: int, length: int) -> bytes:
        """Synced bytes in [offset, offset + length), short where the synced file ends or is hidden."""
        end = min(offset + length, self.synced_size, self.hidden_from)
        if end <= offset:
            return b''
        if self.home is None:
            return bytes(self.orphan[offset:end])
        return os.pread(self.backing_fd(), end - offset, offset)

    def read(self, offset: int, length: int) -> bytes:
        end = min(offset + length, self.size)
        out = bytearray()
        position = offset
        while position < end:
            page = position // PAGE
            stop = min((page + 1) * PAGE, end)
            if page in self.dirty:
                out += self.dirty[page][position - page * PAGE:stop - page * PAGE]
            else:
                while stop < end and stop // PAGE not in self.dirty:  # one pread for a run of clean pages
                    stop = min(stop + PAGE, end)
                chunk = self._synced(position, stop - position)
                out += chunk
                out += bytes(stop - position - len(chunk))  # past the synced end: zeros
            position = stop
        return bytes(out)

    def write(self, offset: int, data: bytes) -> None:
        done = 0
        while done < len(data):
            page, within = divmod(offset + done, PAGE)
            take = min(PAGE - within, len(data) - done)
            live = self.dirty.get(page)
            if live is None:  # first write to this page since the sync: start from its live bytes
                live = bytearray(PAGE)
                synced = self._synced(page * PAGE, PAGE)
                live[:len(synced)] = synced
                self.dirty[page] = live
            live[within:within + take] = data[done:done + take]
            done += take
        self.size = max(self.size, offset + len(data))

    def truncate(self, size: int) -> None:
        if size < self.size:
            self.hidden_from = min(self.hidden_from, size)
            for page in [page for page in self.dirty if page * PAGE >= size]:
                del self.dirty[page]
            last = self.dirty.get(size // PAGE)
            if last is not None:  # bytes past the new end read as zeros if the file grows again
                cut = size % PAGE
                last[cut:] = bytes(PAGE - cut)
        self.size = size

    def sync(self) -> int:
        """fsync: the live content becomes the synced content. Returns the bytes written."""
        keep = min(self.synced_size, self.hidden_from)
        written = 0
        if self.home is None:
            del self.orphan[keep:]
            self.orphan.extend(bytes(self.size - keep))
            for page, live in self.dirty.items():
                start = page * PAGE
                length = min(PAGE, self.size - start)
                self.orphan[start:start + length] = live[:length]
                written += length
        else:
            fd = self.backing_fd()
            if keep < self.synced_size:
                os.ftruncate(fd, keep)
            for page, live in sorted(self.dirty.items()):
                written += os.pwrite(fd, live[:min(PAGE, self.size - page * PAGE)], page * PAGE)
            os.ftruncate(fd, self.size)
            # No os.fsync of the backing file: the host does not lose power here, only this layer.
        self.dirty.clear()
        self.synced_size, self.hidden_from = self.size, NEVER
        return written

    def tear(self, rng: random.Random) -> int:
        """A torn crash: some cached pages of a durably named file reached the disk after all."""
        if self.home is None:
            return 0
        written = 0
        for page, live in self.dirty.items():
            if rng.random() < 0.5:
                written += os.pwrite(self.backing_fd(), live[:min(PAGE, self.size - page * PAGE)], page * PAGE)
        return written

    def lose_home(self, keep_bytes: bool) -> None:
        """Its durable name goes (the directory was synced without it); an open or renamed file keeps its synced bytes in memory."""
        directory, name = self.home
        if keep_bytes:  # all of the synced bytes, also those a pending truncate hides
            self.orphan = bytearray(os.pread(self.backing_fd(), self.synced_size, 0))
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        os.unlink(os.path.join(directory.path, name))
        del directory.homes[name]
        self.home = None

    def take_home(self, directory: Dir, name: bytes) -> None:
        """It becomes durable as directory/name: its synced bytes move to the backing dir."""
        path = os.path.join(directory.path, name)
        if self.home is not None:  # durable in another directory: a rename between directories
            old_dir, old_name = self.home
            os.rename(os.path.join(old_dir.path, old_name), path)
            del old_dir.homes[old_name]
        else:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, self.mode & 0o7777)
            os.pwrite(fd, bytes(self.orphan[:self.synced_size]), 0)
            self.orphan = bytearray()
            self.fd = fd
        self.home = (directory, name)
        directory.homes[name] = self


def sync_dir(directory: Dir) -> None:
    """fsync of a directory: its live file entries become its durable ones."""
    live = {name: node for name, node in directory.entries.items() if isinstance(node, File)}
    for name, node in list(directory.homes.items()):
        if live.get(name) is not node:  # unlinked, renamed away or replaced since the last sync
            node.lose_home(keep_bytes=node.links > 0 or node.opens > 0)
    for name, node in live.items():
        if node.home != (directory, name):
            node.take_home(directory, name)


def scan(directory: Dir, add) -> None:
    """At mount every file in the backing dir is durable: it is its own home. `add` numbers the nodes."""
    for entry in os.scandir(directory.path):
        label = os.path.join(directory.label, entry.name)
        if entry.is_dir(follow_symlinks=False):
            child = add(Dir(0, entry.path, label))
            scan(child, add)
        elif entry.is_file(follow_symlinks=False):
            st = entry.stat(follow_symlinks=False)
            child = add(File(0, st.st_mode & 0o7777, st.st_uid, st.st_gid))
            child.size = child.synced_size = st.st_size
            child.mtime_ns = child.ctime_ns = child.atime_ns = st.st_mtime_ns
            child.home, child.links, child.label = (directory, entry.name), 1, label
            directory.homes[entry.name] = child
        else:
            continue
        directory.entries[entry.name] = child


def cut(files: list, torn) -> dict:
    """A crash: the cache goes (a torn one, with `torn` a random.Random, first writes some of it)."""
    dropped = sum(len(node.dirty) for node in files) * PAGE
    torn_bytes = sum(node.tear(torn) for node in files) if torn is not None else 0
    for node in files:
        if node.fd is not None:
            os.close(node.fd)
    return {'dropped_bytes': dropped, 'torn_bytes': torn_bytes}
