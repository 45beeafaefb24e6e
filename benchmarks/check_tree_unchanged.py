#!/usr/bin/env python3
"""Runs a command and fails if it added, removed or rewrote any file of the source tree.

    check_tree_unchanged.py SOURCE_DIR -- command args...

For ctest (benchmark.leaves_source_tree_unchanged): ./scripts/bench must write its results into
the build tree unless told --publish. Works without git (a tarball has no .git): the tree is
compared file by file, by size and modification time, before and after. Skipped, as `git status`
skips them: .git, __pycache__, and build trees (any folder holding a CMakeCache.txt, and build/).
"""
import os
import pathlib
import subprocess
import sys


def snapshot(root):
    """{relative path: (size, mtime in ns)} of every file under root, build trees left out."""
    files = {}
    for folder, subfolders, names in os.walk(root):
        here = pathlib.Path(folder)
        subfolders[:] = [d for d in subfolders
                         if d not in (".git", "__pycache__")
                         and not (here == root and d == "build")
                         and not (here / d / "CMakeCache.txt").exists()]
        for name in names:
            path = here / name
            stat = path.lstat()
            files[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return files


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit("usage: check_tree_unchanged.py SOURCE_DIR -- command args...")
    root = pathlib.Path(sys.argv[1]).resolve()
    before = snapshot(root)
    done = subprocess.run(sys.argv[3:], timeout=280)
    after = snapshot(root)
    changes = ([f"added {p}" for p in sorted(after.keys() - before.keys())] +
               [f"removed {p}" for p in sorted(before.keys() - after.keys())] +
               [f"rewritten {p}" for p in sorted(before.keys() & after.keys())
                if before[p] != after[p]])
    for change in changes:
        print(f"check_tree_unchanged: {change}", file=sys.stderr)
    if done.returncode != 0:
        sys.exit(f"check_tree_unchanged: the command exited with status {done.returncode}")
    if changes:
        sys.exit(f"check_tree_unchanged: the command changed {len(changes)} files of {root}")
    print(f"check_tree_unchanged: OK, {len(before)} files of {root} unchanged")


if __name__ == "__main__":
    main()
