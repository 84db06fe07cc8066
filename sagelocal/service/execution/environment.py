"""Which of a request's ``Environment`` variables a job's process on this machine is given.

On SageMaker, and with ``--backend docker``, a request's ``Environment`` is the container's environment: a
variable that steers the dynamic loader or the interpreter changes only the container. With ``--backend local``
the algorithm runs in this machine's Python, as the user who runs sagelocal, so such a variable would act on the
host: ``PYTHONPATH`` pointing into the object store runs an uploaded ``sitecustomize.py``, ``LD_PRELOAD`` loads
any library. Those variables are withheld, and the job's log names them in a line of sagelocal's own.

The rule (:func:`is_host_affecting`), by name:

* the dynamic loader and the C library: ``LD_*``, ``DYLD_*``, ``GLIBC_TUNABLES``, ``GCONV_PATH``, ``LOCPATH``,
  ``NLSPATH``, ``HOSTALIASES``, ``MALLOC_*``;
* interpreters, which take code or options from their environment: ``PYTHON*``, ``PERL*``, ``RUBY*``,
  ``NODE_*``, ``JAVA_TOOL_OPTIONS``, ``_JAVA_OPTIONS``, ``JDK_JAVA_OPTIONS``, ``CLASSPATH``;
* shells and program lookup: ``PATH``, ``BASH_ENV``, ``ENV``, ``BASH_FUNC_*``, ``SHELLOPTS``, ``BASHOPTS``,
  ``IFS``, ``CDPATH``, ``PS4``;
* where programs read their configuration or code and write their files: ``HOME`` (Python adds
  ``~/.local/lib/…/site-packages`` to its path), ``TMPDIR``, ``TMP``, ``TEMP``, ``XDG_*``, ``OPENSSL_*``;
* OpenMP's tool interface, which loads the libraries it names: ``OMP_TOOL*`` (the ``OMP_*`` tuning variables,
  e.g. ``OMP_NUM_THREADS``, apply);
* sagelocal's own settings: ``SAGELOCAL_*``.

Every other variable applies, as on SageMaker. The ``SM_*`` variables that name paths apply too: the container
contract resolves them inside the job's folder (``sagelocal.contract.Layout.resolve``). A value holding a NUL
character cannot be put in any process's environment, so it is withheld as well. Models and transform jobs run
their containers' processes under the same rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

_PREFIXES = (
    "LD_",
    "DYLD_",
    "MALLOC_",
    "PYTHON",
    "PERL",
    "RUBY",
    "NODE_",
    "BASH_FUNC_",
    "XDG_",
    "OPENSSL_",
    "OMP_TOOL",
    "SAGELOCAL_",
)
_NAMES = frozenset(
    {
        "GLIBC_TUNABLES",
        "GCONV_PATH",
        "LOCPATH",
        "NLSPATH",
        "HOSTALIASES",
        "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS",
        "JDK_JAVA_OPTIONS",
        "CLASSPATH",
        "PATH",
        "BASH_ENV",
        "ENV",
        "SHELLOPTS",
        "BASHOPTS",
        "IFS",
        "CDPATH",
        "PS4",
        "HOME",
        "TMPDIR",
        "TMP",
        "TEMP",
    }
)


def is_host_affecting(name: str) -> bool:
    """Whether variable ``name`` would change this machine's loader, interpreter or shell, or where its
    programs take code and configuration from (see the module docstring). Names are compared as given:
    environments are case-sensitive."""
    return name in _NAMES or name.startswith(_PREFIXES)


@dataclass(frozen=True)
class HostEnvironment:
    """A request's Environment split for a process on this machine: ``applied`` is given to the process,
    ``withheld`` (names, sorted) is not."""

    applied: dict[str, str] = field(default_factory=dict)
    withheld: list[str] = field(default_factory=list)
    unrepresentable: list[str] = field(default_factory=list)  # a NUL in the value

    def notices(self) -> list[str]:
        """The job log's lines of sagelocal's own about the variables withheld (none when all apply)."""
        lines = []
        if self.withheld:
            names = ", ".join(self.withheld)
            these = "variable" if len(self.withheld) == 1 else "variables"
            verb = "is" if len(self.withheld) == 1 else "are"
            lines.append(
                f"sagelocal: Environment {these} {names} {verb} not applied: with --backend local the algorithm runs "
                "in this machine's Python, where they would change the host's interpreter or loader rather than "
                "a container's. Run the job with --backend docker to apply them inside the container, as "
                "SageMaker does."
            )
        if self.unrepresentable:
            names = ", ".join(self.unrepresentable)
            verb = "is" if len(self.unrepresentable) == 1 else "are"
            lines.append(
                f"sagelocal: Environment {names} {verb} not applied: a value holding a NUL character cannot be "
                "put in a process's environment."
            )
        return lines


def host_environment(environment: Mapping[str, str]) -> HostEnvironment:
    """Split ``environment`` (a request's ``Environment``) by :func:`is_host_affecting`."""
    applied: dict[str, str] = {}
    withheld: list[str] = []
    unrepresentable: list[str] = []
    for name, value in environment.items():
        if is_host_affecting(name):
            withheld.append(name)
        elif "\x00" in name or "\x00" in value or "=" in name or not name:
            unrepresentable.append(name.replace("\x00", "\\x00"))
        else:
            applied[name] = value
    return HostEnvironment(applied, sorted(withheld), sorted(unrepresentable))
