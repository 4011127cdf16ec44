"""The `qa` command line: ingest, ask, kb, serve."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from qa.config import PROJECT_ROOT, ConfigError, Settings, load_settings
from qa.evaluation.queries import EvaluationError
from qa.generation.console import print_stream
from qa.ingest.errors import KnowledgeBaseError
from qa.models import ModelError
from qa.pipeline import ChatPipeline
from qa.progress import tqdm_progress
from qa.store import StoreError
from qa.training.finetune import FinetuneError

Command = Callable[[argparse.Namespace, Settings], int]
DUPLICATES_SHOWN = 20  # near-duplicate pairs printed by `qa ingest`


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `qa` command; returns the exit status (2 for a usage or input error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config, args.data_dir)
        return args.run(args, settings)
    except (ConfigError, KnowledgeBaseError, StoreError, ModelError, EvaluationError, FinetuneError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="FAQ and RAG support chatbot.")
    parser.add_argument("--config", help="config file (default: $QA_CONFIG or configs/default.yaml)")
    parser.add_argument("--data-dir", help="data folder (default: $QA_DATA_DIR or the config's data_dir)")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="load FAQ files and documents into the knowledge base")
    ingest.add_argument("paths", nargs="*", help="files or folders (default: the config's knowledge_base)")
    ingest.add_argument("--rebuild", action="store_true", help="re-embed everything (after a model change)")
    ingest.set_defaults(run=run_ingest)

    ask = commands.add_parser("ask", help="ask one question")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the reply as JSON")
    ask.add_argument(
        "--generate", action=argparse.BooleanOptionalAction, default=None,
        help="write the answer with the generative model, streamed (default: the config's generation.enabled)",
    )  # fmt: skip
    ask.add_argument("--history", nargs="+", default=[], metavar="TURN", help="earlier messages, replayed in a fresh conversation first")
    ask.set_defaults(run=run_ask)

    kb = commands.add_parser("kb", help="inspect or change the knowledge base")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    kb_list = kb_commands.add_parser("list", help="list the entries and passages")
    kb_list.add_argument("--source", help="only this source")
    kb_list.set_defaults(run=run_kb_list)
    kb_commands.add_parser("stats", help="counts per source, model, location").set_defaults(run=run_kb_stats)
    kb_delete = kb_commands.add_parser("delete", help="remove a source")
    kb_delete.add_argument("sources", nargs="+", metavar="SOURCE")
    kb_delete.set_defaults(run=run_kb_delete)

    add_eval_commands(commands)
    add_finetune_commands(commands)

    serve = commands.add_parser("serve", help="start the web app")
    serve.set_defaults(run=run_serve)
    return parser


def run_ingest(args: argparse.Namespace, settings: Settings) -> int:
    pipeline = ChatPipeline(settings)
    paths = args.paths or ([str(settings.knowledge_base)] if settings.knowledge_base else [])
    with tqdm_progress() as progress:
        if args.rebuild and not args.paths:
            report = pipeline.indexer.rebuild(progress)
        else:
            report = pipeline.indexer.ingest(paths, rebuild=args.rebuild, progress=progress)
    print(report.summary() if report.changed else f"unchanged: {report.summary()}")
    warn_duplicates(pipeline, None if args.rebuild and not args.paths else report.sources)
    return 0


def warn_duplicates(pipeline: ChatPipeline, sources: Sequence[str] | None) -> None:
    """Print the near-duplicate entries of the index (those involving `sources`) on stderr; never fails the load."""
    from qa.duplicates import index_duplicates

    threshold = pipeline.settings.app.duplicate_threshold
    pairs = index_duplicates(pipeline.store, threshold, sources)
    if pairs:
        print(f"warning: {len(pairs)} pair(s) of near-duplicate entries (similarity ≥ {threshold:.2f}); loaded anyway:", file=sys.stderr)
        for pair in pairs[:DUPLICATES_SHOWN]:
            print(f"  {pair.describe()}", file=sys.stderr)
        if len(pairs) > DUPLICATES_SHOWN:
            print(f"  ... and {len(pairs) - DUPLICATES_SHOWN} more", file=sys.stderr)


def run_ask(args: argparse.Namespace, settings: Settings) -> int:
    pipeline = ChatPipeline(settings)
    pipeline.check_ready()
    conversation_id = uuid.uuid4().hex if args.history else None
    for turn in args.history:
        pipeline.ask(turn, conversation_id)
    if args.json:
        reply = pipeline.ask(args.question, conversation_id, args.generate)
        print(json.dumps(reply.to_json(), ensure_ascii=False, indent=2))
    else:
        reply = print_stream(pipeline.stream(args.question, conversation_id, args.generate), sys.stdout)
        for number, source in enumerate(reply.sources if reply.answered else (), start=1):
            label = f"[{number}] " if reply.generated else ""  # a generated answer cites its sources as [n]
            print(f"  {label}[{source.score:.2f}] {source.question} ({source.source})")
    return 0 if reply.intent != "invalid_input" else 2


def run_kb_list(args: argparse.Namespace, settings: Settings) -> int:
    store = ChatPipeline(settings).store
    where = {"source": args.source} if args.source else None
    seen = set()
    for record in store.records(where=where):
        meta = record.metadata
        if meta.get("entry_id") not in seen:
            seen.add(meta.get("entry_id"))
            print(f"{meta.get('entry_id')}\t{meta.get('source')}\t{meta.get('question')}")
    return 0


def run_kb_stats(args: argparse.Namespace, settings: Settings) -> int:
    pipeline = ChatPipeline(settings)
    pipeline.store.verify()
    model = pipeline.store.model()
    print(f"location: {pipeline.store.location}")
    print(f"model: {model[0]} ({model[1]} dimensions)" if model else "model: (empty index)")
    sources = pipeline.indexer.sources()
    for source, count in sorted(sources.items()):
        print(f"{count:8d}  {source}")
    print(f"{sum(sources.values()):8d}  vectors in {len(sources)} source(s)")
    return 0


def run_kb_delete(args: argparse.Namespace, settings: Settings) -> int:
    with tqdm_progress() as progress:
        report = ChatPipeline(settings).indexer.delete_sources(args.sources, progress)
    print(report.summary())
    return 0


CALIBRATE_OPTIONS = frozenset(("max_val_queries", "seed"))
TRAIN_OPTIONS = frozenset(
    ("epochs", "max_queries", "max_val_queries", "negatives", "batch_size", "learning_rate", "max_length", "layers",
     "seed", "threads", "device", "eval_datasets", "eval_split", "max_eval_queries")
)


def add_eval_commands(commands: argparse._SubParsersAction) -> None:
    """`qa eval` and `qa train-reranker`."""
    from qa.evaluation.datasets import DEFAULT_DATASETS_DIR
    from qa.training.intent_datasets import DATASETS

    evaluate = commands.add_parser("eval", help="measure the answers on labelled queries, in a temporary index")
    given = evaluate.add_mutually_exclusive_group(required=True)
    given.add_argument("--kb", nargs="+", metavar="PATH", help="FAQ files or folders (any format `qa ingest` takes)")
    given.add_argument("--dataset", choices=DATASETS, help="an intent data set: train split as the knowledge base")
    evaluate.add_argument("--queries", metavar="JSONL", help='with --kb: lines of {"query", "expected", "history"}')
    evaluate.add_argument("--data-dir", dest="datasets_dir", default=str(DEFAULT_DATASETS_DIR), help="with --dataset: the data sets folder")
    evaluate.add_argument("--split", choices=("val", "test"), default="test", help="with --dataset: the queries (default: test)")
    evaluate.add_argument("--limit", type=_positive_int, help="a seeded sample of this many queries")
    evaluate.add_argument("--intents", type=_positive_int, help="with --dataset: only its first N intents (a quick run)")
    evaluate.add_argument("--no-rerank", action="store_true", help="leave the re-ranker out (bi-encoder alone)")
    evaluate.add_argument("--json", dest="json_out", metavar="OUT", help="write the figures as JSON")
    evaluate.add_argument("--plot", metavar="OUT.png", help="draw the figures and accuracy by threshold")
    evaluate.add_argument("--errors", metavar="OUT.jsonl", help="write the worst false positives and false negatives")
    evaluate.set_defaults(run=run_eval)

    train = commands.add_parser("train-reranker", help="fine-tune the cross-encoder re-ranker on intent data sets")
    train.add_argument("--output", default=str(PROJECT_ROOT / "models" / "reranker"), help="the model folder (default: %(default)s)")
    train.add_argument("--data-dir", dest="datasets_dir", default=str(DEFAULT_DATASETS_DIR), help="the data sets folder")
    train.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS), help="train on these")
    for flag, kind in (("--epochs", float), ("--max-queries", int), ("--max-val-queries", int), ("--negatives", int),
                       ("--batch-size", int), ("--learning-rate", float), ("--max-length", int), ("--layers", int),
                       ("--seed", int), ("--threads", int), ("--max-eval-queries", int)):
        train.add_argument(flag, type=kind, default=argparse.SUPPRESS, help="(default: see qa.training.reranker)")
    train.add_argument("--eval-datasets", nargs="+", choices=DATASETS, default=argparse.SUPPRESS)
    train.add_argument("--eval-split", choices=("val", "test"), default=argparse.SUPPRESS)
    train.add_argument("--device", default=argparse.SUPPRESS, help='"cuda" trains on a GPU (default: cpu)')
    train.add_argument("--calibrate-only", action="store_true",
                       help="fit the entry classifier's weight in the ranking of the model in --output on the val splits, without training")
    train.set_defaults(run=run_train_reranker)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    from qa.evaluation.evaluate import EvalRequest, evaluate
    from qa.evaluation.report import format_report, worst_errors, write_jsonl

    outputs = [Path(path) for path in (args.json_out, args.plot, args.errors) if path]
    missing = [str(path) for path in outputs if not path.resolve().parent.is_dir()]
    if missing:
        raise EvaluationError(f"no folder for the output file(s): {', '.join(missing)}")
    request = EvalRequest(
        kb_paths=tuple(args.kb or ()),
        queries=Path(args.queries) if args.queries else None,
        dataset=args.dataset,
        datasets_dir=Path(args.datasets_dir),
        split=args.split,
        limit=args.limit,
        intents=args.intents,
        rerank=False if args.no_rerank else None,
    )
    with tqdm_progress() as progress:
        report, outcomes = evaluate(settings, request, progress=progress)
    print(format_report(report))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.errors:
        write_jsonl(args.errors, worst_errors(outcomes))
    if args.plot:
        from qa.evaluation.plot import plot_report

        plot_report(report, outcomes, args.plot)
    return 0


def run_train_reranker(args: argparse.Namespace, settings: Settings) -> int:
    from qa.training.reranker import calibrate_reranker, train_reranker

    options = {key: value for key, value in vars(args).items() if key in TRAIN_OPTIONS}
    if args.calibrate_only:
        options = {key: value for key, value in options.items() if key in CALIBRATE_OPTIONS}
        result = calibrate_reranker(Path(args.output), args.datasets_dir, args.datasets, **options)
    else:
        result = train_reranker(Path(args.output), args.datasets_dir, args.datasets, **options)
    print(json.dumps(result, indent=2))
    print(f"saved the {'calibration' if args.calibrate_only else 're-ranker'} to {args.output}")
    return 0


def add_finetune_commands(commands: argparse._SubParsersAction) -> None:
    """`qa finetune` and `qa feedback list | link`."""
    finetune = commands.add_parser("finetune", help="adapt the bi-encoder to the knowledge base, then re-index with it")
    finetune.add_argument("--holdout", type=float, default=0.2, help="share of alternate questions held out to measure (default: %(default)s)")
    for flag, kind in (("--epochs", int), ("--rounds", int), ("--max-pairs", int), ("--batch-size", int),
                       ("--learning-rate", float), ("--max-seq-length", int), ("--tuned-share", float), ("--seed", int)):
        finetune.add_argument(flag, type=kind, default=argparse.SUPPRESS, help="(default: see qa.training.bi_encoder)")
    finetune.add_argument("--no-hard-negatives", action="store_true", help="in-batch negatives only")
    finetune.add_argument("--no-feedback", action="store_true", help="leave out the questions linked with `qa feedback link`")
    finetune.add_argument("--no-reindex", action="store_true", help="save and measure the model, keep the index as it is")
    finetune.add_argument("--reranker", action="store_true", help="train the config's re-ranker on the knowledge base too")
    finetune.add_argument("--revert", action="store_true", help="go back to the config's model and re-index")
    finetune.set_defaults(run=run_finetune)

    feedback = commands.add_parser("feedback", help="questions from the records to link to entries (for qa finetune)")
    feedback_commands = feedback.add_subparsers(dest="feedback_command", required=True)
    listing = feedback_commands.add_parser("list", help="thumbs-down and unanswered questions, with their ids")
    listing.add_argument("--limit", type=_positive_int, default=50, help="at most this many, newest first (default: %(default)s)")
    listing.set_defaults(run=run_feedback_list)
    link = feedback_commands.add_parser("link", help="link recorded questions to the entry that answers them")
    link.add_argument("question_ids", nargs="+", type=int, metavar="QUESTION_ID", help="ids shown by `qa feedback list`")
    link.add_argument("entry_id", metavar="ENTRY_ID", help="an entry id shown by `qa kb list`")
    link.set_defaults(run=run_feedback_link)


FINETUNE_OPTIONS = frozenset(
    ("epochs", "rounds", "max_pairs", "batch_size", "learning_rate", "max_seq_length", "tuned_share", "seed")
)


def run_finetune(args: argparse.Namespace, settings: Settings) -> int:
    from qa.training.bi_encoder import TrainingOptions
    from qa.training.finetune import finetune, revert

    with tqdm_progress() as progress:
        if args.revert:
            active, report = revert(settings, progress)
            if active is None or report is None:
                print("no fine-tuned model is in use")
                return 0
            bases = active.base + (f" and {active.reranker_base}" if active.reranker_base else "")
            print(f"back to {bases}; {report.summary()}")
            return 0
        options = {key: value for key, value in vars(args).items() if key in FINETUNE_OPTIONS}
        try:
            training = TrainingOptions(hard_negatives=not args.no_hard_negatives, **options)
        except ValueError as error:
            raise FinetuneError(str(error)) from error
        result = finetune(
            settings, training, args.holdout, feedback=not args.no_feedback, reindex=not args.no_reindex,
            reranker=args.reranker, progress=progress,
        )  # fmt: skip
    if result.reindexed is None:
        pin = f"embedder.model: {result.model_dir}" + (f", reranker.model: {result.reranker_dir}" if result.reranker_dir else "")
        print(f"the index still uses {settings.embedder.model}; to use the new model, set {pin} in the config "
              "and run `qa ingest --rebuild`")
    else:
        models = str(result.model_dir) + (f" and {result.reranker_dir}" if result.reranker_dir else "")
        print(f"this data folder now uses {models} (recorded in {settings.data_dir / 'active_embedder.json'}, "
              "in place of the config's models); restart `qa serve`. To go back: `qa finetune --revert`")
    return 0


def run_feedback_list(args: argparse.Namespace, settings: Settings) -> int:
    from qa.feedback import linkable_questions
    from qa.records import Records

    low_confidence = settings.threshold + settings.app.low_confidence_margin
    items = linkable_questions(Records.in_folder(settings.data_dir), low_confidence)[: args.limit]
    if not items:
        print("no thumbs-down or unanswered questions recorded")
    for item in items:
        state = f"linked to {item.linked_to}" if item.linked_to else f"answered with {item.answered_with or '-'}"
        print(f"{item.turn_id}\t{item.reason}\t{state}\t{item.question}")
    return 0


def run_feedback_link(args: argparse.Namespace, settings: Settings) -> int:
    from qa.feedback import link_questions
    from qa.records import Records

    try:
        links = link_questions(Records.in_folder(settings.data_dir), ChatPipeline(settings).store, args.question_ids, args.entry_id)
    except (KeyError, ValueError) as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    for link in links:
        print(f"linked {link.turn_id} ({link.question!r}) to {link.entry_id}")
    print("`qa finetune` will learn from these questions")
    return 0


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    from qa.ui.server import serve

    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
