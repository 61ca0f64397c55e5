"""The sweep's storage: Optuna's database, and a claims table beside it that hands out each grid
point exactly once.

Optuna's GridSampler alone can hand the same point to two workers that ask at the same moment,
and a WAITING-trial queue is only claimed atomically where the database honours SELECT … FOR
UPDATE (not SQLite). So points are *claimed* through a small table next to Optuna's, in the same
database, whose primary key is (study, point): the INSERT that wins is the only one, on SQLite
and PostgreSQL alike. The same table fixes the study's grid once (its ``__spec__`` row): a
process that brings another grid, or another training budget, is refused before it writes
anything (``dltp.sweep.engine.setup``).
"""

from __future__ import annotations

import time

from dltp.errors import DltpError

SPEC_KEY = "__spec__"
CLAIMS_TABLE = "dltp_sweep_claims"


def redact(url: str) -> str:
    """``url`` without its password, fit to print."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def sqlalchemy_url(url: str) -> str:
    """PostgreSQL through psycopg2 (the project's dependency), whatever SQLAlchemy's default driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def _engine_kwargs(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60}}
    if url.startswith("postgresql"):
        return {"connect_args": {"connect_timeout": 10}}
    return {}


def open_storage(url: str):
    """Optuna's RDBStorage for ``url``; an unreachable or invalid URL is a DltpError."""
    import optuna

    if not url.startswith(("sqlite:", "postgresql", "mysql")):
        raise DltpError(f"unsupported --storage {redact(url)!r}: use sqlite:///FILE or postgresql://USER@HOST/DB")
    import sqlalchemy.exc

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(sqlalchemy_url(url), engine_kwargs=_engine_kwargs(url))
        except sqlalchemy.exc.DBAPIError as exc:
            if not _lost_the_create_race(exc):
                raise DltpError(f"cannot open the study storage {redact(url)}: {_first_line(exc)}") from None
            # Workers started together race to create Optuna's tables in an empty database; one
            # CREATE wins and the others fail. The tables exist then: open them again.
            if attempt == 4:
                raise DltpError(f"cannot create the study tables in {redact(url)}: {_first_line(exc)}") from None
            time.sleep(0.5 * (attempt + 1))
        except Exception as exc:
            raise DltpError(f"cannot open the study storage {redact(url)}: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _lost_the_create_race(exc) -> bool:
    """A CREATE that another process made first: a unique violation in PostgreSQL's catalogue when
    the two overlapped, "relation already exists" (42P07, 42710) when the other committed between
    our check and our CREATE, "table … already exists" in SQLite."""
    import sqlalchemy.exc

    if isinstance(exc, sqlalchemy.exc.IntegrityError):
        return True
    return getattr(exc.orig, "pgcode", None) in {"42P07", "42710"} or "already exists" in str(exc.orig)


class Claims:
    """Rows (study, point) with a primary key: inserting one is claiming it, exactly once."""

    def __init__(self, url: str):
        import sqlalchemy as sa

        self.sa = sa
        self.engine = sa.create_engine(sqlalchemy_url(url), **_engine_kwargs(url))
        meta = sa.MetaData()
        self.table = sa.Table(
            CLAIMS_TABLE, meta,
            sa.Column("study", sa.String(512), primary_key=True),
            sa.Column("point", sa.String(1024), primary_key=True),
            sa.Column("owner", sa.String(256), nullable=False),
            sa.Column("detail", sa.Text, nullable=True),
            sa.Column("claimed_at", sa.Float, nullable=False),
        )
        for attempt in range(5):  # several processes may create it at the same moment
            try:
                meta.create_all(self.engine, checkfirst=True)
                break
            except sa.exc.SQLAlchemyError:
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def claim(self, study: str, point: str, owner: str, detail: str | None = None) -> bool:
        """True when this call inserted the row, False when another process holds it already."""
        try:
            with self.engine.begin() as conn:
                conn.execute(self.table.insert().values(study=study, point=point, owner=owner, detail=detail,
                                                        claimed_at=time.time()))
            return True
        except self.sa.exc.IntegrityError:
            return False

    def get(self, study: str, point: str):
        """The claim's row (owner, detail), or None."""
        columns = self.table.c
        with self.engine.connect() as conn:
            return conn.execute(self.sa.select(columns.owner, columns.detail).where(
                (columns.study == study) & (columns.point == point))).first()

    def count(self, study: str) -> int:
        """Claimed grid points of ``study`` (its spec row not counted)."""
        columns = self.table.c
        with self.engine.connect() as conn:
            return conn.execute(self.sa.select(self.sa.func.count()).select_from(self.table).where(
                (columns.study == study) & (columns.point != SPEC_KEY))).scalar_one()

    def dispose(self):
        self.engine.dispose()
