"""The `qa` command line: ingest, ask, kb, serve."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable, Sequence

from qa.config import ConfigError, Settings, load_settings
from qa.generation.console import print_stream
from qa.ingest.errors import KnowledgeBaseError
from qa.models import ModelError
from qa.pipeline import ChatPipeline
from qa.progress import tqdm_progress
from qa.store import StoreError

Command = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `qa` command; returns the exit status (2 for a usage or input error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config, args.data_dir)
        return args.run(args, settings)
    except (ConfigError, KnowledgeBaseError, StoreError, ModelError) as error:
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
    ask.add_argument("--history", nargs="+", default=[], metavar="TURN", help="earlier messages, replayed in a fresh conversation first")
    ask.add_argument(
        "--generate", action=argparse.BooleanOptionalAction, default=None,
        help="write the answer with the generative model, streamed (default: the config's generation.enabled)",
    )  # fmt: skip
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
    return 0


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


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    from qa.ui.server import serve

    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
