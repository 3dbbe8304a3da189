/**
 * Which frames of a stack are library code worth showing when no workspace frame is on it (a
 * model from `transformers` or `vllm` run from a script outside the workspace), and which are
 * framework internals that never are.
 *
 * A *library frame* is a frame outside the workspace whose file is not framework internals:
 * - internals are pseudo-files (`<built-in>`, `<frozen importlib._bootstrap>`, `<string>`, ''),
 *   the interpreter's standard library, private top-level modules (`_collections_abc.py`), and
 *   the framework itself: torch (with functorch, torchgen), triton, typing_extensions;
 * - everything else is library code: installed packages (transformers, vllm, flashinfer, your
 *   own package in site-packages) and paths recorded elsewhere that no `gpuLens.pathMap` entry
 *   maps onto the workspace.
 * The module path of a frame is its file after the last `site-packages/` or `dist-packages/`
 * (Kineto records it that way already: it strips the sys.path root); a file directly under
 * `lib/pythonX.Y/` is the standard library.
 */

/** Framework packages whose frames are plumbing between the model code and the kernels. */
const FRAMEWORK = new Set(['torch', 'functorch', 'torchgen', 'triton', 'typing_extensions']);

/** Top-level modules of the standard library (Python 3.11 `sys.stdlib_module_names`, public ones). */
const STDLIB = new Set(
  (
    'abc aifc antigravity argparse array ast asynchat asyncio asyncore atexit audioop base64 bdb ' +
    'binascii bisect builtins bz2 cProfile calendar cgi cgitb chunk cmath cmd code codecs codeop ' +
    'collections colorsys compileall concurrent configparser contextlib contextvars copy copyreg ' +
    'crypt csv ctypes curses dataclasses datetime dbm decimal difflib dis distutils doctest email ' +
    'encodings ensurepip enum errno faulthandler fcntl filecmp fileinput fnmatch fractions ftplib ' +
    'functools gc genericpath getopt getpass gettext glob graphlib grp gzip hashlib heapq hmac html ' +
    'http idlelib imaplib imghdr imp importlib inspect io ipaddress itertools json keyword lib2to3 ' +
    'linecache locale logging lzma mailbox mailcap marshal math mimetypes mmap modulefinder msilib ' +
    'msvcrt multiprocessing netrc nis nntplib nt ntpath nturl2path numbers opcode operator optparse ' +
    'os ossaudiodev pathlib pdb pickle pickletools pipes pkgutil platform plistlib poplib posix ' +
    'posixpath pprint profile pstats pty pwd py_compile pyclbr pydoc pydoc_data pyexpat queue ' +
    'quopri random re readline reprlib resource rlcompleter runpy sched secrets select selectors ' +
    'shelve shlex shutil signal site smtpd smtplib sndhdr socket socketserver spwd sqlite3 ' +
    'sre_compile sre_constants sre_parse ssl stat statistics string stringprep struct subprocess ' +
    'sunau symtable sys sysconfig syslog tabnanny tarfile telnetlib tempfile termios textwrap this ' +
    'threading time timeit tkinter token tokenize tomllib trace traceback tracemalloc tty turtle ' +
    'turtledemo types typing unicodedata unittest urllib uu uuid venv warnings wave weakref ' +
    'webbrowser winreg winsound wsgiref xdrlib xml xmlrpc zipapp zipfile zipimport zlib zoneinfo'
  ).split(' '),
);

const SITE = /(?:^|\/)(?:site|dist)-packages\//g;
const STDLIB_DIR = /(?:^|\/)lib\/python\d[\d.]*\/(?!(?:site|dist)-packages\/)/;

/**
 * The module path of a recorded file that is library code (`transformers/models/qwen2/x.py`),
 * or null when the file is framework internals or the standard library. Paths outside any
 * site-packages folder come back whole (forward slashes).
 */
export function libraryModulePath(recorded: string): string | null {
  if (!recorded || recorded.startsWith('<')) return null;
  const p = recorded.replace(/\\/g, '/');
  let start = -1;
  for (const m of p.matchAll(SITE)) start = m.index + m[0].length;
  if (start < 0 && STDLIB_DIR.test(p)) return null;
  const mod = start >= 0 ? p.slice(start) : p;
  // Absolute paths outside site-packages are not sys.path-relative: their top is no module name.
  if (start < 0 && (mod.startsWith('/') || /^[A-Za-z]:\//.test(mod))) return mod;
  const slash = mod.indexOf('/');
  const top = (slash < 0 ? mod : mod.slice(0, slash)).replace(/\.py$/, '');
  if (top.startsWith('_') || FRAMEWORK.has(top) || STDLIB.has(top)) return null;
  return mod;
}
