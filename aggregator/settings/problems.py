"""What is wrong with a config, in the seller's language: one line per problem, naming its key and, where it
helps, what a valid value looks like.

Our validators raise `Problem(key, **values)`: pydantic keeps the exception, and the loader renders it in the
language of the run. pydantic's own checks are rendered from their error type. A detail that comes from a parser
below the config (time intervals, dates) is quoted as that parser wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aggregator.language import Lang, Texts

# The shorthand hours every hours key accepts, as shown in errors.
HOURS_EXAMPLES = '"22-9", "22:00-09:00", "월-금 13:00-18:00"'

_PROBLEMS = Texts(
    {
        # the file
        "file_not_found": ("{path}: 설정 파일이 없습니다", "{path}: config file not found"),
        "cannot_read": ("{path}: 읽을 수 없습니다 ({error})", "{path}: cannot read: {error}"),
        "not_toml": ("{path}: TOML 형식이 아닙니다: {error}", "{path}: not valid TOML: {error}"),
        "not_utf8": (
            "{path}: 설정 파일은 UTF-8이어야 합니다 ({encoding}로 저장된 것 같습니다). 변환: "
            "iconv -f {encoding} -t utf-8 {path} > {converted} (메모장: 다른 이름으로 저장 → 인코딩 UTF-8)",
            "{path}: the config file must be UTF-8 (it looks like {encoding}). Convert it: "
            "iconv -f {encoding} -t utf-8 {path} > {converted} (Notepad: Save As → Encoding UTF-8)",
        ),
        # pydantic's own checks that the loader words itself
        "missing": ("값이 필요합니다", "field required"),
        "secret_hint": (
            " (비밀 값: 환경 변수 {env} 또는 secrets_dir의 파일 {file})",
            " (a secret: set env {env} or a file {file} in secrets_dir)",
        ),
        "extra_forbidden": ("모르는 키입니다 (철자를 확인하세요)", "unknown key"),
        "union_tag_invalid": (
            "모르는 값 {tag!r} (가능한 값: {expected_tags})",
            "unknown value {tag!r} (expected {expected_tags})",
        ),
        # our validators (Problem keys)
        "bad_name": (
            "영문 소문자, 숫자, -, _로 1-40자, 글자나 숫자로 시작 (예: myshop-coupang)",
            "use 1-40 lowercase letters, digits, - or _, starting with a letter or digit",
        ),
        "no_streams": ("스트림이 하나 이상 필요합니다", "at least one stream is needed"),
        "stream_twice": ("같은 스트림이 두 번 있습니다", "a stream is listed twice"),
        "not_http_url": ("http(s) 주소여야 합니다 (예: https://…)", "must be an http(s) URL"),
        "plain_http": (
            "http는 127.0.0.1(샌드박스)에만 쓸 수 있습니다. https를 쓰세요",
            "plain http is only allowed for 127.0.0.1 (the sandbox); use https",
        ),
        "kakao_needs_secrets_dir": (
            "카카오 채널 '{channel}'의 로그인을 둘 폴더가 필요합니다: "
            'secrets_dir를 적으세요 (예: secrets_dir = "secrets")',
            "kakao channel '{channel}' keeps its login in a folder: set secrets_dir (e.g. secrets_dir = \"secrets\")",
        ),
        "kakao_redirect_loopback": (
            "이 컴퓨터의 http 주소여야 합니다 (예: http://localhost:9464/kakao/callback, 포트 포함)",
            "must be an http address on this machine with a port (e.g. http://localhost:9464/kakao/callback)",
        ),
        "poll_floor": (
            "실제 마켓에는 {floor:g}초 이상이어야 합니다",
            "must be at least {floor:g} s for a real marketplace",
        ),
        "naver_secret": (
            "발급받은 애플리케이션 시크릿이어야 합니다: $2a$NN$ 뒤에 22자",
            "must be the application secret as issued: $2a$NN$ followed by 22 characters",
        ),
        "esm_site": (
            "gmarket_seller_id, auction_seller_id 중 하나 이상을 적으세요",
            "give gmarket_seller_id, auction_seller_id or both",
        ),
        "no_kinds": (
            "메시지 종류가 하나 이상 필요합니다 (필요 없으면 채널을 지우세요)",
            "at least one message kind is needed (remove the channel instead)",
        ),
        "answered_by_hand": (
            "'answered'는 직접 보내지 않습니다: ntfy가 답변된 문의의 알림을 지웁니다 (clear_when_answered)",
            "'answered' is not routed by hand; ntfy clears answered inquiries (clear_when_answered)",
        ),
        "not_duration": (
            "{value!r}: 기간은 24h, 1h30m, 45m, 2d처럼 적습니다",
            "{value!r} is not a duration like 24h, 1h30m, 45m or 2d",
        ),
        "not_percentage": ("{value!r}: 비율은 50%처럼 적습니다", "{value!r} is not a percentage like 50%"),
        "percentage_range": (
            "{value!r}: 비율은 0과 100 사이여야 합니다 (0과 100 제외)",
            "{value!r}: a percentage must be between 0 and 100 (exclusive)",
        ),
        "left_positive": ("{value!r}: 남은 시간은 0보다 커야 합니다", "{value!r}: time left must be positive"),
        "duplicate_rules": ("{rules}에 규칙이 둘 이상입니다", "more than one rule for {rules}"),
        "bad_dates": (
            "날짜는 YYYY-MM-DD 또는 YYYY-MM-DD..YYYY-MM-DD로 적습니다 ({detail})",
            "{detail}",
        ),
        "interval_spec": ("시간 구간이 맞지 않습니다: {detail}", "{detail}"),
        "database_url_scheme": (
            'database_url은 "postgresql://"로 시작합니다 (SQLite는 db_path만 적습니다)',
            'database_url starts with "postgresql://" (for SQLite, set db_path alone)',
        ),
        "postgres_unfinished": (
            "PostgreSQL 지원은 아직 완성되지 않았습니다: database_url을 지우면 SQLite(db_path)를 씁니다",
            "PostgreSQL support is not finished: remove database_url to use SQLite (db_path)",
        ),
        "unknown_zone": (
            "모르는 시간대 {value!r} (예: Asia/Seoul)",
            "unknown time zone {value!r}",
        ),
        "duplicate_names": ("같은 이름이 둘 이상입니다: {names}", "duplicate name {names}"),
        "no_notifiers": ("알림 채널이 하나 이상 필요합니다", "at least one notifier is needed"),
        "fallback_unknown": (
            "{channel}.fallback이 다른 채널을 가리키지 않습니다 ({fallback!r})",
            "{channel}.fallback names no other channel ({fallback!r})",
        ),
        "hours_form": (
            '시간 구간 이름이나 시간을 적습니다. 예: "night", ["night", "closed-days"], {examples}',
            'give interval names or hours, e.g. "night", ["night", "closed-days"], {examples}',
        ),
        "hours_name": (
            "{value!r}: 그런 이름의 시간 구간이 없습니다 (있는 이름: {names}). 시간으로는 {examples}처럼 적습니다",
            "undefined time interval {value!r} (names: {names}); hours are written like {examples}",
        ),
        "hours_text": (
            "{value!r}: 시간은 {examples}처럼 적습니다",
            "{value!r} is not hours like {examples} ({detail})",
        ),
        "admin_needs_token": (
            "{host}에 열면 이 컴퓨터 밖에서도 inqd에 접근할 수 있습니다: 토큰을 설정하거나 "
            "(환경 변수 INQD_ADMIN__TOKEN 또는 secrets_dir의 admin.token) 127.0.0.1을 쓰세요",
            "binding {host} exposes inqd beyond this machine; set a token "
            "(env INQD_ADMIN__TOKEN or a file admin.token in secrets_dir) or use 127.0.0.1",
        ),
        "public_url_https": (
            "휴대폰이 https로 닿아야 합니다 ({detail})",
            "the phone must reach it over https ({detail})",
        ),
        "public_url_token": (
            "휴대폰 버튼에는 토큰이 필요합니다 (환경 변수 INQD_ADMIN__TOKEN 또는 admin.token)",
            "phone actions need a token (env INQD_ADMIN__TOKEN or admin.token)",
        ),
        "lost_after_range": ("1m에서 24h 사이로 적으세요", "use between 1m and 24h"),
    }
)

# pydantic's own checks in Korean, by error type (in English, pydantic's message is shown as it is).
_PYDANTIC_KO = {
    "less_than_equal": "{le} 이하여야 합니다",
    "less_than": "{lt}보다 작아야 합니다",
    "greater_than": "{gt}보다 커야 합니다",
    "greater_than_equal": "{ge} 이상이어야 합니다",
    "string_pattern_mismatch": "형식이 맞지 않습니다 (형식: {pattern})",
    "literal_error": "{expected} 중 하나여야 합니다",
    "enum": "{expected} 중 하나여야 합니다",
    "bool_parsing": "true 또는 false여야 합니다",
    "bool_type": "true 또는 false여야 합니다",
    "int_parsing": "정수여야 합니다 (예: 3)",
    "int_type": "정수여야 합니다 (예: 3)",
    "int_from_float": "정수여야 합니다 (예: 3)",
    "float_parsing": "숫자여야 합니다 (예: 1.5)",
    "float_type": "숫자여야 합니다 (예: 1.5)",
    "string_type": '문자열이어야 합니다 (예: "abc")',
    "tuple_type": '목록이어야 합니다 (예: ["a", "b"])',
    "list_type": '목록이어야 합니다 (예: ["a", "b"])',
    "dict_type": "표여야 합니다 ([이름] 또는 [[이름]])",
    "model_type": "표여야 합니다 ([이름] 또는 [[이름]])",
    "model_attributes_type": "표여야 합니다 ([이름] 또는 [[이름]])",
    "date_from_datetime_parsing": "YYYY-MM-DD 날짜여야 합니다",
    "date_parsing": "YYYY-MM-DD 날짜여야 합니다",
    "date_type": "YYYY-MM-DD 날짜여야 합니다",
}


class Problem(ValueError):
    """A config problem: a key of the table above and the values it names; `at` is a sub-key it belongs to.

    str() is the English line (what pydantic shows); `text(lang)` is the line in the language of the run.
    """

    def __init__(self, key: str, *, at: str | None = None, **values: Any) -> None:
        self.key, self.at, self.values = key, at, values
        super().__init__(_PROBLEMS("en", key, **values))

    def text(self, lang: Lang) -> str:
        """The problem in `lang`."""
        values = {k: v.text(lang) if isinstance(v, Problem) else v for k, v in self.values.items()}
        return _PROBLEMS(lang, self.key, **values)


def problem_text(lang: Lang, key: str, **values: Any) -> str:
    """The line of the problem `key` in `lang` (for problems found outside a validator, e.g. reading the file)."""
    return _PROBLEMS(lang, key, **values)


def pydantic_text(lang: Lang, kind: str, message: str, ctx: Mapping[str, Any]) -> str:
    """pydantic's own message for an error of type `kind`, in `lang` (English as pydantic wrote it)."""
    if lang == "en" or kind not in _PYDANTIC_KO:
        return message
    return _PYDANTIC_KO[kind].format(**ctx)
