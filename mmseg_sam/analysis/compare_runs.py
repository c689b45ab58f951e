# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Compare training runs from what MMEngine writes into their work dirs.

The logic of ``tools/analysis/compare_runs.py``: :func:`collect_runs` finds the runs,
:func:`summarise` turns one into a :class:`Row`, :func:`markdown_table` and
:func:`plot_data_efficiency` show the rows.

A work dir is a folder written by ``tools/train.py`` (``--work-dir``): the dumped config
``<config name>.py``, the checkpoints, ``last_checkpoint`` and one ``<YYYYMMDD_HHMMSS>/``
folder per session (MMEngine's ``Runner.log_dir``). Test metrics come from ``tools/test.py``
sessions in the same folder or in a folder below it (e.g. ``--work-dir WORK_DIR/test``); the
newest test session counts. Without one, the last validation of the training is reported
(column "from"). A folder that is no run but holds runs (``work_dirs/``) is expanded to them.

Files read, per session folder ``<ts>/`` (MMEngine 0.10):

* ``<ts>/vis_data/scalars.json`` (``LocalVisBackend``; one JSON object a line): training
  entries are the lines with a ``loss`` (keys ``iter``, ``step``, ``lr``, ``time``,
  ``data_time``, ``loss``, ``memory`` on CUDA, ...), validation entries the lines with
  ``mIoU`` or ``per_image_fg_iou`` (and ``step``, the training iteration). A session with
  training entries is a training session.
* ``<ts>/<ts>.json``: ``LoggerHook.after_test_epoch`` dumps the final test metrics there as one
  JSON object; a session with it and no training entries is a test session.
* ``<ts>/vis_data/config.py`` (``Visualizer.add_config``): the session's config; its
  ``load_from`` (set by ``tools/test.py``) names the checkpoint a test session scored. The run's
  config is the newest training session's, else ``<work_dir>/<config name>.py``.
* ``<work_dir>/last_checkpoint``: the iteration of the last checkpoint.
* ``<ts>/<ts>.log``, only for runs whose evaluator lacks ``PerImageIoUMetric``: the
  dataset-level foreground IoU is then only in the per-class table that MMSeg's ``IoUMetric``
  prints (``per class results:``; MMSeg's prettytable, not an MMEngine log line), since that
  metric returns only ``aAcc``, ``mIoU`` and ``mAcc``. Without either that column is n/a, with
  a note naming the log.

Fallback: a run trained without ``LocalVisBackend`` (no ``scalars.json``) or tested without
the JSON dump is read from the ``Iter(train)`` / ``(test)`` lines of its text log; this is the
only use of MMEngine's log-line format, and only when the JSON files are absent.

Where each number comes from:

* params: the model built from the run's saved config, without loading any weights
  (``init_weights`` is never called); trainable = ``requires_grad`` parameters.
* pretrained weights: the file name of ``model.pretrained`` or of the backbone's
  ``init_cfg`` checkpoint in the saved config; "none" when the model starts from random
  weights (e.g. a baseline trained with ``model.pretrained=None model.backbone.init_cfg=None``).
* labelled images: ``train_dataloader.dataset.size`` of a ``SeededSubsetDataset`` when it is
  an int, else the length of the training set built from the config (needs the data).
* subset seed: the ``seed`` of that ``SeededSubsetDataset`` (which images were drawn); n/a
  for other training sets.
* iterations: the highest training ``iter`` in ``scalars.json`` or the iteration of the
  checkpoint in ``last_checkpoint``, whichever is higher.
* train time: the sum over logged training entries of ``time`` (seconds per iteration,
  averaged by MMEngine over the logging window) times the iterations since the previous
  logged entry, with entries of all sessions merged by iteration (a resumed session wins).
  Validation and checkpointing are left out. Exact when the logging interval equals the
  log processor's window (both 10 in our configs).
* peak memory: the largest ``memory`` of the merged training entries (``torch.cuda`` max
  allocated, MB; an entry a resumed session replaced does not count); n/a for CPU runs.
* mIoU and per-image IoU: ``mIoU`` (MMSeg's ``IoUMetric``) and ``per_image_fg_iou`` (our
  ``PerImageIoUMetric``) of the test dump, else of the last validation entry; keys with an
  evaluator prefix (``test/mIoU``) count too.
* foreground IoU: ``dataset_fg_iou`` of ``PerImageIoUMetric`` in the same JSON output, else
  the row of the foreground class (``foreground_index`` of the config's ``PerImageIoUMetric``;
  the second class of a binary table) of the last per-class table. The class name comes from
  that table when there is one.
"""
import ast
import copy
import json
import math
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Tuple

if TYPE_CHECKING:
    from mmengine.config import Config

__all__ = [
    'METRICS', 'NotARunError', 'Row', 'Run', 'Session', 'collect_runs', 'compare',
    'data_efficiency_lines', 'markdown_table', 'plot_data_efficiency', 'pretrained_weights',
    'read_json_lines', 'read_load_from', 'read_session', 'read_test_dump', 'summarise',
    'train_time', 'write_rows_json',
]

SESSION_NAME = re.compile(r'^\d{8}_\d{6}$')
# The text-log patterns below serve only the fallbacks (see _read_log_fallbacks).
# "Iter(train) [ 10/500]  lr: ...": iteration-based training lines of an MMEngine log.
TRAIN_LINE = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/\s*(\d+)\]')
TEST_LINE = re.compile(r'(?:Iter|Epoch)\(test\)\s*\[\s*(\d+)/\s*(\d+)\]')
# "key: number" pairs; "eta: 0:01:02" is no number and is skipped by the lookahead.
KEY_VALUE = re.compile(r'([\w./-]+): (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?|nan)(?=\s|$)')
CHECKPOINT_LINE = re.compile(r'Load checkpoint from (\S+)')
CHECKPOINT_NAME = re.compile(r'(iter|epoch)_(\d+)\.pth$')

#: --metric choices: row field and axis label.
METRICS = {
    'per_image_fg_iou': ('per_image_fg_iou', 'per-image foreground IoU (%)'),
    'fg_iou': ('fg_iou', 'dataset-level foreground IoU (%)'),
    'mIoU': ('miou', 'mIoU (%)'),
}


class NotARunError(FileNotFoundError):
    """A folder given to the tool is not a training work dir (and holds none)."""


# ---------------------------------------------------------------------------- sessions
@dataclass
class Session:
    """One ``<timestamp>/`` folder: a tools/train.py or tools/test.py process."""

    path: Path
    train_entries: List[Dict[str, Any]] = field(default_factory=list)
    val_entries: List[Dict[str, Any]] = field(default_factory=list)
    test_metrics: Optional[Dict[str, Any]] = None
    class_tables: List[List[Tuple[str, float]]] = field(default_factory=list)
    checkpoint: Optional[str] = None  # the checkpoint a test session loaded

    @property
    def config(self) -> Optional[Path]:
        dumped = self.path / 'vis_data' / 'config.py'
        return dumped if dumped.is_file() else None

    @property
    def is_train(self) -> bool:
        return bool(self.train_entries)

    @property
    def is_test(self) -> bool:
        return self.test_metrics is not None and not self.train_entries


def read_json_lines(path: Path) -> List[Dict[str, Any]]:
    """Entries of MMEngine's line-delimited ``scalars.json``; a cut-off line is skipped."""
    entries = []
    for line in path.read_text(errors='replace').splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a run killed while writing leaves half a line
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def parse_class_tables(lines: Sequence[str]) -> List[List[Tuple[str, float]]]:
    """The ``per class results:`` tables of ``IoUMetric`` in a log: ``[(class, IoU)]`` each."""
    tables = []
    index = 0
    while index < len(lines):
        if 'per class results:' not in lines[index]:
            index += 1
            continue
        index += 1
        while index < len(lines) and not lines[index].startswith(('+', '|')):
            index += 1  # the log header line MMEngine prints before the table
        header: Optional[List[str]] = None
        rows: List[Tuple[str, float]] = []
        while index < len(lines) and lines[index].startswith(('+', '|')):
            if lines[index].startswith('|'):
                cells = [cell.strip() for cell in lines[index].strip().strip('|').split('|')]
                if header is None:
                    header = cells
                elif 'IoU' in header:
                    rows.append((cells[0], _to_float(cells[header.index('IoU')])))
            index += 1
        if rows:
            tables.append(rows)
    return tables


def _to_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _key_values(text: str) -> Dict[str, float]:
    return {key: float(value) for key, value in KEY_VALUE.findall(text)}


def read_load_from(config: Path) -> Optional[str]:
    """The top-level ``load_from = '...'`` of a dumped config, read without executing it."""
    try:
        tree = ast.parse(config.read_text(errors='replace'))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == 'load_from'):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return None
            return value if isinstance(value, str) else None
    return None


def read_test_dump(path: Path) -> Optional[Dict[str, Any]]:
    """The metrics ``LoggerHook`` dumped to ``<ts>/<ts>.json`` after testing; None if absent
    or unreadable (a test cut off while writing)."""
    if not path.is_file():
        return None
    try:
        metrics = json.loads(path.read_text(errors='replace'))
    except json.JSONDecodeError:
        return None
    return metrics if isinstance(metrics, dict) else None


def read_session(path: Path) -> Session:
    """Read what MMEngine wrote into one session folder; see the module docstring."""
    session = Session(path)
    scalars = path / 'vis_data' / 'scalars.json'
    entries = read_json_lines(scalars) if scalars.is_file() else []
    for entry in entries:
        if 'loss' in entry or any(key.endswith('loss') for key in entry):
            session.train_entries.append(entry)
        elif any(_metric(entry, name) is not None for name in ('mIoU', 'per_image_fg_iou')):
            session.val_entries.append(entry)
    session.test_metrics = read_test_dump(path / f'{path.name}.json')
    if session.config is not None:
        session.checkpoint = read_load_from(session.config)
    log = path / f'{path.name}.log'
    if log.is_file():
        lines = log.read_text(errors='replace').splitlines()
        session.class_tables = parse_class_tables(lines)
        _read_log_fallbacks(session, lines, has_scalars=bool(entries))
    return session


def _read_log_fallbacks(session: Session, lines: Sequence[str], has_scalars: bool) -> None:
    """What the JSON files would hold, from MMEngine's log lines, where they are missing:
    training entries without ``scalars.json``, test metrics without the ``<ts>.json`` dump,
    the loaded checkpoint without ``vis_data/config.py``."""
    test_lines = []
    for line in lines:
        if session.checkpoint is None and (match := CHECKPOINT_LINE.search(line)):
            session.checkpoint = match.group(1)
        if not has_scalars and (match := TRAIN_LINE.search(line)):
            values = _key_values(line[match.end():])
            if 'loss' in values:
                session.train_entries.append(dict(values, iter=int(match.group(1))))
        if (match := TEST_LINE.search(line)) and match.group(1) == match.group(2):
            test_lines.append(_key_values(line[match.end():]))
    if session.test_metrics is None and test_lines and not session.train_entries:
        if any(_metric(m, 'mIoU') is not None for m in test_lines):
            session.test_metrics = test_lines[-1]


def _metric(metrics: Dict[str, Any], name: str) -> Optional[float]:
    """``metrics[name]``, also under an evaluator prefix (``'test/mIoU'``); None if absent."""
    for key, value in metrics.items():
        if key == name or key.endswith('/' + name):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
    return None


def list_sessions(folder: Path) -> List[Session]:
    """The session folders (``YYYYMMDD_HHMMSS``) directly in ``folder``, oldest first."""
    return [read_session(p) for p in sorted(folder.iterdir())
            if p.is_dir() and SESSION_NAME.match(p.name)]


# ---------------------------------------------------------------------------- runs
@dataclass
class Run:
    """A training work dir with its sessions and the test sessions found below it."""

    path: Path
    train_sessions: List[Session]
    test_sessions: List[Session]

    @property
    def config_path(self) -> Optional[Path]:
        for session in reversed(self.train_sessions):
            if session.config is not None:
                return session.config
        dumped = sorted(self.path.glob('*.py'), key=lambda p: p.stat().st_mtime)
        return dumped[-1] if dumped else None

    @property
    def name(self) -> str:
        """The config name: tools/train.py dumps the config as ``<work_dir>/<name>.py``."""
        dumped = sorted(self.path.glob('*.py'), key=lambda p: p.stat().st_mtime)
        return dumped[-1].stem if dumped else self.path.name


def _test_sessions_below(folder: Path, depth: int) -> List[Session]:
    """Test sessions in sub-folders (not session folders) of a run, ``depth`` levels deep."""
    found: List[Session] = []
    if depth == 0:
        return found
    for child in sorted(p for p in folder.iterdir() if p.is_dir()):
        if SESSION_NAME.match(child.name):
            continue
        sessions = list_sessions(child)
        if any(s.is_train for s in sessions):
            continue  # another run nested inside this one; its tests are its own
        found += [s for s in sessions if s.is_test]
        found += _test_sessions_below(child, depth - 1)
    return found


def load_run(folder: Path) -> Optional[Run]:
    """The run in ``folder``, or None when it has no training session."""
    sessions = list_sessions(folder)
    train = [s for s in sessions if s.is_train]
    if not train:
        return None
    tests = [s for s in sessions if s.is_test] + _test_sessions_below(folder, depth=2)
    tests.sort(key=lambda s: s.path.name)
    return Run(folder, train, tests)


def collect_runs(folders: Iterable[Path]) -> List[Run]:
    """Runs of the given folders; a folder holding runs expands to them, else an error."""
    runs: List[Run] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise NotARunError(f'{folder}: no such directory')
        run = load_run(folder)
        if run is not None:
            runs.append(run)
            continue
        children = [load_run(p) for p in sorted(folder.iterdir())
                    if p.is_dir() and not SESSION_NAME.match(p.name)]
        children = [r for r in children if r is not None]
        if children:
            runs += children
            continue
        sessions = list_sessions(folder)
        if any(s.is_test for s in sessions):
            raise NotARunError(
                f'{folder}: holds tools/test.py sessions but no training session; pass the '
                f'training work dir (test sessions in it or below it are found)')
        raise NotARunError(
            f'{folder}: not a training work dir: expected <timestamp>/vis_data/scalars.json '
            f'or <timestamp>/<timestamp>.log with training iterations, as tools/train.py '
            f'writes them, in it or in its immediate sub-folders')
    return runs


# ---------------------------------------------------------------------------- numbers
@dataclass
class RunFacts:
    """What was trained, on what, for how long; None means not available."""

    model: str
    work_dir: str
    #: file name of the checkpoint the model starts from, 'none' for random initialisation
    pretrained: Optional[str] = None
    trainable_params: Optional[int] = None
    total_params: Optional[int] = None
    labelled_images: Optional[int] = None
    #: ``seed`` of a ``SeededSubsetDataset`` training set (which N images were labelled)
    subset_seed: Optional[int] = None
    iterations: Optional[int] = None
    max_iters: Optional[int] = None
    train_time_s: Optional[float] = None
    peak_memory_mb: Optional[float] = None


@dataclass
class Row(RunFacts):
    """One table row: the run's facts and its results; None means not available."""

    miou: Optional[float] = None
    fg_iou: Optional[float] = None
    fg_class: Optional[str] = None
    per_image_fg_iou: Optional[float] = None
    #: where the results come from, e.g. 'test (iter_500.pth)'
    metrics_from: str = 'none'
    notes: List[str] = field(default_factory=list)


def merged_train_entries(run: Run) -> List[Dict[str, Any]]:
    """Training entries of all sessions by iteration; a resumed session wins over older."""
    by_iter: Dict[int, Dict[str, Any]] = {}
    for session in run.train_sessions:
        for entry in session.train_entries:
            step = entry.get('iter', entry.get('step'))
            if isinstance(step, (int, float)):
                by_iter[int(step)] = entry
    return [by_iter[i] for i in sorted(by_iter)]


def train_time(entries: Sequence[Dict[str, Any]]) -> Optional[float]:
    """Seconds of training: each logged mean iteration time times the iterations it covers."""
    total, previous = 0.0, 0
    seen = False
    for entry in entries:
        step, seconds = int(entry.get('iter', entry.get('step'))), entry.get('time')
        if isinstance(seconds, (int, float)):
            total += float(seconds) * max(step - previous, 0)
            seen = True
        previous = step
    return total if seen else None


def checkpoint_iteration(run: Run) -> Optional[int]:
    """The iteration of the checkpoint named in ``last_checkpoint`` (iteration-based runs)."""
    pointer = run.path / 'last_checkpoint'
    if not pointer.is_file():
        return None
    match = CHECKPOINT_NAME.search(pointer.read_text().strip())
    return int(match.group(2)) if match and match.group(1) == 'iter' else None


def load_config(path: Path) -> 'Config':
    """The saved config, with its ``custom_imports`` done and MMSeg as default scope."""
    from mmengine.registry import init_default_scope

    from mmseg_sam.utils.config_loading import load_config_file
    cfg = load_config_file(path)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    return cfg


def count_parameters(model_cfg: Dict[str, Any]) -> Tuple[int, int]:
    """``(trainable, total)`` parameters of the model, built on the CPU without weights."""
    from mmengine.config import Config
    from mmseg.registry import MODELS

    from mmseg_sam.utils.pretrained_weights import without_pretrained_weights
    cfg = Config(dict(model=copy.deepcopy(model_cfg)))
    # Building never reads checkpoints (init_weights does, and is not called); dropping
    # the pretrained settings makes sure no backbone reaches for one anyway.
    if isinstance(cfg.model.get('backbone'), dict):
        without_pretrained_weights(cfg)
    else:
        cfg.model['pretrained'] = None
    model = MODELS.build(cfg.model)
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, total


def pretrained_weights(model_cfg: Dict[str, Any]) -> str:
    """File name of the weights a model starts from, or 'none' for random initialisation.

    MMSeg recipes name them in two places: ``model.pretrained`` (ResNet, MMSeg's ViT) or the
    backbone's ``init_cfg=dict(type='Pretrained', checkpoint=...)`` (MiT, SAM).
    """
    sources = [model_cfg.get('pretrained')]
    init_cfg = (model_cfg.get('backbone') or {}).get('init_cfg')
    for entry in init_cfg if isinstance(init_cfg, list) else [init_cfg]:
        if isinstance(entry, dict) and entry.get('type') == 'Pretrained':
            sources.append(entry.get('checkpoint'))
    names = [str(source).rstrip('/').rsplit('/', 1)[-1] for source in sources if source]
    return ', '.join(names) if names else 'none'


def labelled_images(cfg) -> Tuple[Optional[int], Optional[str]]:
    """Number of training images, and a note when it could not be found."""
    dataset = cfg.get('train_dataloader', {}).get('dataset')
    if dataset is None:
        return None, 'config has no train_dataloader.dataset'
    if dataset.get('type') == 'SeededSubsetDataset' and isinstance(dataset.get('size'), int):
        return int(dataset['size']), None
    try:
        from mmseg.registry import DATASETS
        return len(DATASETS.build(copy.deepcopy(dataset))), None
    except Exception as error:  # noqa: BLE001  (any failure: data moved, root relative)
        return None, f'labelled images: train set not readable ({type(error).__name__}: ' \
                     f'{error})'


def subset_seed(cfg) -> Optional[int]:
    """The seed that chose the labelled images of a ``SeededSubsetDataset``, else None."""
    dataset = cfg.get('train_dataloader', {}).get('dataset') or {}
    if dataset.get('type') != 'SeededSubsetDataset':
        return None
    return int(dataset.get('seed', 0))  # the dataset's default seed


def foreground_index(cfg, evaluator_key: str) -> Optional[int]:
    """``foreground_index`` of the config's PerImageIoUMetric, None without one."""
    evaluators = cfg.get(evaluator_key)
    if isinstance(evaluators, dict):
        evaluators = [evaluators]
    for evaluator in evaluators or []:
        if isinstance(evaluator, dict) and evaluator.get('type') == 'PerImageIoUMetric':
            return int(evaluator.get('foreground_index', 1))
    return None


def summarise(run: Run, with_params: bool = True,
              param_cache: Optional[Dict[str, Tuple[int, int]]] = None) -> Row:
    """All numbers of one run; what cannot be found stays None with a note."""
    row = Row(model=run.name, work_dir=str(run.path))
    cfg = None
    if run.config_path is None:
        row.notes.append(f'no saved config: neither <session>/vis_data/config.py nor '
                         f'{run.path}/<config name>.py')
    else:
        try:
            cfg = load_config(run.config_path)
        except Exception as error:  # noqa: BLE001
            row.notes.append(f'config {run.config_path} unreadable ({error})')

    entries = merged_train_entries(run)
    logged = max((int(e.get('iter', e.get('step'))) for e in entries), default=None)
    saved = checkpoint_iteration(run)
    row.iterations = max((i for i in (logged, saved) if i is not None), default=None)
    row.train_time_s = train_time(entries)
    memories = [e['memory'] for e in entries if isinstance(e.get('memory'), (int, float))]
    row.peak_memory_mb = float(max(memories)) if memories else None

    # Metrics: the newest test session, else the last validation of the training.
    tables: List[List[Tuple[str, float]]] = []
    evaluator_key = 'test_evaluator'
    if run.test_sessions:
        test = run.test_sessions[-1]
        metrics = test.test_metrics or {}
        tables = test.class_tables
        checkpoint = Path(test.checkpoint).name if test.checkpoint else '?'
        row.metrics_from = f'test ({checkpoint})'
    else:
        validations = [(s, e) for s in run.train_sessions for e in s.val_entries]
        metrics = validations[-1][1] if validations else {}
        for session in run.train_sessions:
            tables += session.class_tables
        evaluator_key = 'val_evaluator'
        if validations:
            row.metrics_from = f"val @ {metrics.get('step', '?')}"
    row.miou = _metric(metrics, 'mIoU')
    row.per_image_fg_iou = _metric(metrics, 'per_image_fg_iou')
    row.fg_iou = _metric(metrics, 'dataset_fg_iou')
    if row.fg_iou is not None and math.isnan(row.fg_iou):
        row.fg_iou = None
    if not tables and row.fg_iou is None and (run.test_sessions or metrics):
        sessions = run.test_sessions[-1:] or run.train_sessions
        logs = ', '.join(str(s.path / f'{s.path.name}.log') for s in sessions)
        row.notes.append(f'foreground IoU: no IoUMetric per-class table in {logs}')
    if tables:
        table = tables[-1]
        index = foreground_index(cfg, evaluator_key) if cfg is not None else None
        if index is None and len(table) == 2:
            index = 1  # binary: the second class is the foreground
        if index is not None and index < len(table):
            row.fg_class, value = table[index]
            if row.fg_iou is None and not math.isnan(value):
                row.fg_iou = value

    if cfg is not None:
        train_cfg = cfg.get('train_cfg') or {}
        row.max_iters = train_cfg.get('max_iters')
        row.pretrained = pretrained_weights(cfg.model.to_dict())
        row.labelled_images, note = labelled_images(cfg)
        row.subset_seed = subset_seed(cfg)
        if note:
            row.notes.append(note)
        if with_params:
            key = json.dumps(cfg.model.to_dict(), sort_keys=True, default=str)
            cache = param_cache if param_cache is not None else {}
            try:
                if key not in cache:
                    cache[key] = count_parameters(cfg.model.to_dict())
                row.trainable_params, row.total_params = cache[key]
            except Exception as error:  # noqa: BLE001
                row.notes.append(f'params: model not buildable ({type(error).__name__}: '
                                 f'{error})')
    return row


def compare(work_dirs: Iterable[Path], with_params: bool = True) -> List[Row]:
    """The rows of all runs in ``work_dirs`` (see :func:`collect_runs`), sorted by model,
    labelled images and work dir; models with equal configs are built once.

    Raises:
        NotARunError: a folder is missing, or neither a run nor a folder of runs.
    """
    runs = collect_runs(work_dirs)
    cache: Dict[str, Tuple[int, int]] = {}
    rows = [summarise(run, with_params=with_params, param_cache=cache) for run in runs]
    rows.sort(key=lambda r: (r.model, r.labelled_images or 0, r.work_dir))
    return rows


# ---------------------------------------------------------------------------- output
def write_rows_json(rows: Sequence[Row], path: Path) -> Path:
    """Write the rows as a JSON list of objects (the :class:`Row` fields)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return path


def _millions(count: Optional[int]) -> str:
    return 'n/a' if count is None else f'{count / 1e6:.2f}M'


def _duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return 'n/a'
    if seconds < 60:
        return f'{seconds:.1f} s'
    seconds = int(round(seconds))
    return f'{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}'


def _number(value: Optional[float], digits: int = 2) -> str:
    return 'n/a' if value is None else f'{value:.{digits}f}'


def markdown_table(rows: Sequence[Row]) -> str:
    """The comparison as a GitHub-flavoured markdown table."""
    header = ['model', 'pretrained weights', 'trainable / total params', 'labelled images',
              'subset seed', 'iterations', 'train time', 'peak memory', 'mIoU', 'foreground IoU',
              'per-image IoU', 'from', 'work dir']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for row in rows:
        iterations = 'n/a' if row.iterations is None else str(row.iterations)
        if row.iterations is not None and row.max_iters and row.iterations < row.max_iters:
            iterations += f' of {row.max_iters}'  # stopped (or still running) early
        fg = _number(row.fg_iou)
        if row.fg_iou is not None and row.fg_class:
            fg += f' ({row.fg_class})'
        cells = [
            row.model,
            'n/a' if row.pretrained is None else row.pretrained,
            f'{_millions(row.trainable_params)} / {_millions(row.total_params)}',
            'n/a' if row.labelled_images is None else str(row.labelled_images),
            'n/a' if row.subset_seed is None else str(row.subset_seed),
            iterations,
            _duration(row.train_time_s),
            'n/a' if row.peak_memory_mb is None else f'{row.peak_memory_mb:.0f} MB',
            _number(row.miou), fg, _number(row.per_image_fg_iou), row.metrics_from,
            row.work_dir,
        ]
        lines.append('| ' + ' | '.join(c.replace('|', '/') for c in cells) + ' |')
    return '\n'.join(lines)


def data_efficiency_lines(rows: Sequence[Row], metric: str) -> Dict[str, Dict[int, List[float]]]:
    """``{legend label: {labelled images: [metric of each run]}}``, one entry per plot line.

    A line is one model (config); runs of it from random weights form a line of their own,
    "(random init)", so that runs with and without pretraining are never averaged together.
    A line with any number from validation instead of a test session says "(validation)".
    """
    attribute = METRICS[metric][0]
    groups: Dict[str, Dict[int, List[float]]] = defaultdict(lambda: defaultdict(list))
    validated = set()  # lines with a point from validation rather than a test session
    for row in rows:
        value = getattr(row, attribute)
        if row.labelled_images is not None and value is not None:
            name = f'{row.model} (random init)' if row.pretrained == 'none' else row.model
            groups[name][row.labelled_images].append(value)
            if row.metrics_from.startswith('val'):
                validated.add(name)
    return {(f'{name} (validation)' if name in validated else name): dict(points)
            for name, points in groups.items()}


def plot_data_efficiency(rows: Sequence[Row], metric: str, path: Path) -> Optional[Path]:
    """Write ``metric`` against labelled images, one line per model; None if nothing to draw.

    Runs with the same model and number of images (e.g. other seeds) are averaged for the
    line and drawn as points too; see :func:`data_efficiency_lines` for the legend.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups = data_efficiency_lines(rows, metric)
    if not groups:
        return None
    # A Figure with its own Agg canvas: no pyplot state, no GUI backend, whatever is set.
    figure = Figure(figsize=(7, 4.5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    counts = sorted({n for points in groups.values() for n in points})
    for name in sorted(groups):
        points = groups[name]
        xs = sorted(points)
        line = axes.plot(xs, [sum(points[x]) / len(points[x]) for x in xs], marker='o',
                         label=name)[0]
        repeated = [(x, v) for x in xs for v in points[x] if len(points[x]) > 1]
        if repeated:
            axes.scatter(*zip(*repeated), color=line.get_color(), alpha=0.35, s=14)
    if counts[0] > 0 and counts[-1] / counts[0] >= 8:
        axes.set_xscale('log')
    axes.set_xticks(counts)
    axes.set_xticklabels([str(n) for n in counts])
    axes.set_xlabel('labelled training images')
    axes.set_ylabel(METRICS[metric][1])
    axes.set_title('Data efficiency')
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize='x-small')
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=150)
    return path
