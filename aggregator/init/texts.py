"""What `inqd init` says and writes, in Korean (the default) and English: prompts, messages and TOML comments."""

from __future__ import annotations

from aggregator.language import Lang, Texts
from core.models import Marketplace

__all__ = ["Lang", "auth_hint", "comment", "field_prompt", "market_name", "say"]

_MARKETS_EN = {
    Marketplace.COUPANG: "Coupang",
    Marketplace.NAVER: "Naver Smart Store",
    Marketplace.ELEVENST: "11st",
    Marketplace.ESM: "Gmarket/Auction (ESM)",
}

_AUTH_HINTS: dict[Marketplace, tuple[str, str]] = {
    Marketplace.COUPANG: (
        "WING 업체코드와 OpenAPI 키(발급 후 180일이면 만료), 이 컴퓨터의 IP가 WING에 등록되어 있는지 확인해 주세요.",
        "Check the WING vendor ID, the OpenAPI keys (they expire 180 days after issue) and that this machine's IP "
        "is registered in WING.",
    ),
    Marketplace.NAVER: (
        "커머스API센터에서 애플리케이션 ID와 시크릿, 문의 API 그룹 권한, 허용 IP를 확인해 주세요.",
        "Check the application ID and secret, the 문의 API group and the IP allow-list in the Commerce API center.",
    ),
    Marketplace.ELEVENST: (
        "11번가 셀러오피스에서 Open API 키와 등록한 IP를 확인해 주세요.",
        "Check the Open API key and the registered IP in the 11st seller office.",
    ),
    Marketplace.ESM: (
        "ESM+ 마스터 ID와 판매자 ID, 시크릿 키, API 사용 승인을 확인해 주세요.",
        "Check the ESM+ master ID, the seller IDs, the secret key and that API use was approved.",
    ),
}

# (kind, field) -> prompt; kind is a marketplace or a channel type.
_FIELDS: dict[tuple[str, str], tuple[str, str]] = {
    ("coupang", "vendor_id"): ("WING 업체코드 (예: A00012345)", "WING vendor ID (e.g. A00012345)"),
    ("coupang", "access_key"): ("Access key", "Access key"),
    ("coupang", "secret_key"): ("Secret key", "Secret key"),
    ("coupang", "key_issued_at"): (
        "키 발급일 YYYY-MM-DD (만료 알림용, 없으면 Enter)",
        "Key issue date YYYY-MM-DD (for expiry reminders; Enter to skip)",
    ),
    ("naver", "client_id"): ("애플리케이션 ID", "Application ID"),
    ("naver", "client_secret"): ("애플리케이션 시크릿 ($2a$...)", "Application secret ($2a$...)"),
    ("elevenst", "api_key"): ("Open API 키", "Open API key"),
    ("esm", "master_id"): ("ESM+ 마스터 ID", "ESM+ master ID"),
    ("esm", "gmarket_seller_id"): ("G마켓 판매자 ID (없으면 Enter)", "Gmarket seller ID (Enter to skip)"),
    ("esm", "auction_seller_id"): ("옥션 판매자 ID (없으면 Enter)", "Auction seller ID (Enter to skip)"),
    ("esm", "secret_key"): ("시크릿 키", "Secret key"),
    ("ntfy", "server_url"): ("ntfy 서버", "ntfy server"),
    ("ntfy", "topic"): ("토픽 (길고 무작위일수록 안전합니다)", "Topic (long and random is safer)"),
    ("ntfy", "token"): ("액세스 토큰 tk_... (없으면 Enter)", "Access token tk_... (Enter to skip)"),
    ("telegram", "bot_token"): ("봇 토큰 (@BotFather)", "Bot token (@BotFather)"),
    ("telegram", "chat_id"): ("chat_id (getUpdates에서 확인)", "chat_id (see getUpdates)"),
    ("kakao", "rest_api_key"): ("REST API 키 ([앱 키]에서)", "REST API key (under App Keys)"),
    ("kakao", "client_secret"): (
        "Client Secret (카카오 로그인 > 보안에서 켠 경우만, 없으면 Enter)",
        "Client Secret (only if switched on under Kakao Login > Security; Enter to skip)",
    ),
    ("sms", "api_key"): ("솔라피 API 키", "Solapi API key"),
    ("sms", "api_secret"): ("솔라피 API 시크릿", "Solapi API secret"),
    ("sms", "sender"): ("등록된 발신번호 (숫자만)", "Registered sender number (digits only)"),
    ("sms", "recipient"): ("받을 휴대폰 번호 (숫자만)", "Work phone number (digits only)"),
}

_MESSAGES: dict[str, tuple[str, str]] = {
    "intro": ("inqd 설정 도우미입니다. 설정 파일: {path}", "inqd setup. Config file: {path}"),
    "intro_new": ("새 설정 파일을 만듭니다.", "A new config file will be written."),
    "intro_edit": (
        "기존 설정을 고칩니다. 묻지 않은 항목은 그대로 둡니다.",
        "Editing the existing config; anything not asked about stays as it is.",
    ),
    "intro_enter": ("[ ] 안의 값은 Enter로 받아들입니다.", "Press Enter to accept the value in [ ]."),
    "section_accounts": ("── 마켓 계정 ──", "── Marketplace accounts ──"),
    "section_hours": ("── 조용한 시간과 업무 시간 ──", "── Quiet hours and work hours ──"),
    "section_channel": ("── 휴대폰 알림 ──", "── Notifications to the work phone ──"),
    "add_account": ("{market} 계정을 추가할까요?", "Add a {market} account?"),
    "add_another": ("{market} 계정을 하나 더 추가할까요?", "Add another {market} account?"),
    "edit_account": ("{market} 계정 {owner!r:을} 고칠까요?", "Change the {market} account '{owner}'?"),
    "account_id": ("계정 이름 (영문 소문자, 숫자, -, _)", "Account name (lowercase letters, digits, -, _)"),
    "id_taken": ("{owner!r:은} 이미 있습니다. 다른 이름을 쓰세요.", "'{owner}' is taken; pick another name."),
    "bad_id": (
        "이름: 영문 소문자나 숫자로 시작하는 1-40자 (a-z 0-9 - _)",
        "Name: 1-40 of a-z 0-9 - _, not starting with - or _",
    ),
    "keep_stored": ("저장된 값 유지", "keep the stored value"),
    "keep_env": ("환경 변수 {env} 값", "value of env {env}"),
    "keep_typed": ("방금 입력한 값", "the value just entered"),
    "required": ("값이 필요합니다.", "A value is needed."),
    "yes_no": ("y 또는 n으로 답해 주세요.", "Please answer y or n."),
    "pick_number": ("1-{count} 중 번호로 답해 주세요.", "Please answer with a number from 1 to {count}."),
    "invalid": ("잘못된 값: {problem}", "Invalid: {problem}"),
    "checking": ("{market}에 확인 요청을 보냅니다...", "Checking with {market}..."),
    "check_ok": ("확인했습니다: {market:이} 키를 받아들였습니다.", "OK: {market} accepted the credentials."),
    "auth_failed": (
        "{market:이} 인증을 거부했습니다 ({error}). {hint}",
        "{market} refused the credentials ({error}). {hint}",
    ),
    "retry_account": ("다시 입력할까요? (n: 저장하지 않고 끝냅니다)", "Enter them again? (n: quit without saving)"),
    "unreachable": ("{market}에 연결하지 못했습니다 ({error}).", "Could not reach {market} ({error})."),
    "keep_anyway": ("그래도 이 계정을 저장할까요? (n: 다시 입력)", "Keep this account anyway? (n: enter it again)"),
    "kept_unchecked": (
        "확인하지 못한 채 저장합니다: 나중에 inqd run의 로그를 확인하세요.",
        "Kept unchecked: watch the log of inqd run.",
    ),
    "no_accounts": (
        "계정이 없습니다: inqd가 가져올 문의가 없습니다. 나중에 inqd init을 다시 실행하세요.",
        "No accounts: inqd has nothing to poll. Run inqd init again later.",
    ),
    "quiet": (
        "조용한 시간: 휴대폰이 울리지 않습니다 (예: 22:00-09:00, fri-sun 20:00-10:00, 없음)",
        "Quiet hours: the phone stays silent (e.g. 22:00-09:00, fri-sun 20:00-10:00, none)",
    ),
    "holidays_quiet": ("공휴일에는 종일 조용히 할까요?", "Keep every public holiday quiet all day?"),
    "work": (
        "업무 시간: 내 목표 시간은 이 시간만 셉니다 (예: mon-fri 13:00-18:00)",
        "Work hours: your own target counts only these (e.g. mon-fri 13:00-18:00)",
    ),
    "keep_current": ("지금 설정 유지: {names}", "keep current: {names}"),
    "need_range": ("시간 범위를 적어 주세요 (예: 22:00-09:00)", "give a time range such as 22:00-09:00"),
    "channel_menu": (
        "알림을 받을 방법:\n"
        "  1) ntfy 앱 (추천: 무료, 방해 금지 모드에서도 울리게 할 수 있음)\n"
        "  2) 텔레그램 봇\n"
        "  3) 문자 (솔라피, 건당 요금)\n"
        "  4) 없음 (콘솔에만 출력)\n"
        "  5) 카카오톡 '나에게 보내기' (무료, 카카오 디벨로퍼스 앱과 한 번의 로그인 필요)",
        "How to reach the work phone:\n"
        "  1) ntfy app (recommended: free, can ring through Do-Not-Disturb)\n"
        "  2) Telegram bot\n"
        "  3) SMS (Solapi, paid per message)\n"
        "  4) none (console only)\n"
        "  5) KakaoTalk 'send to me' (free; needs a Kakao Developers app and one login)",
    ),
    "number": ("번호", "Number"),
    "change_channel": ("알림 채널을 새로 설정할까요? (지금: {names})", "Set up a channel again? (now: {names})"),
    "ntfy_public": (
        "ntfy.sh에 토큰 없이 보내면 토픽을 아는 누구나 알림을 읽을 수 있습니다: 길고 무작위인 토픽을 쓰세요.",
        "Without a token on ntfy.sh anyone who knows the topic can read the alerts: keep it long and random.",
    ),
    "ntfy_subscribe": (
        "휴대폰 ntfy 앱에서 서버 {server}의 토픽 {topic:을} 구독한 뒤 Enter를 누르세요",
        "Subscribe to topic {topic} on {server} in the ntfy app on the phone, then press Enter",
    ),
    "ntfy_topic": (
        "휴대폰 ntfy 앱에서 서버 {server}의 토픽 {topic:을} 구독하세요.",
        "Subscribe to topic {topic} on {server} in the ntfy app on the phone.",
    ),
    "kakao_steps": (
        "카카오톡 '나에게 보내기'는 카카오 디벨로퍼스(developers.kakao.com)에 내 앱을 하나 만들어 씁니다 (무료):\n"
        "  1) 알림을 받을 휴대폰의 카카오계정으로 로그인해 [내 애플리케이션]에서 앱을 추가하세요.\n"
        "  2) [카카오 로그인]을 켜고(ON) Redirect URI에 {redirect} 를 등록하세요.\n"
        "  3) [동의항목]에서 '카카오톡 메시지 전송'(talk_message)을 사용으로 설정하세요.\n"
        "  4) [플랫폼] > Web에 웹 화면의 주소(예: http://localhost:{port})를 사이트 도메인으로 등록하세요: 메시지의 "
        "링크가 열립니다.\n"
        "  5) [앱 키]의 REST API 키를 아래에 넣으세요.",
        "KakaoTalk 'send to me' uses an app of your own on Kakao Developers (developers.kakao.com, free):\n"
        "  1) Log in with the Kakao account of the work phone and add an app under My Application.\n"
        "  2) Switch Kakao Login on and register {redirect} as a Redirect URI.\n"
        "  3) Under Consent Items, set 'Send KakaoTalk messages' (talk_message) to used.\n"
        "  4) Under Platform > Web, register the web inbox's address (e.g. http://localhost:{port}) as a site "
        "domain: the messages' links open there.\n"
        "  5) Enter the REST API key from App Keys below.",
    ),
    "kakao_login_now": (
        "지금 카카오에 로그인할까요? (브라우저가 필요합니다)",
        "Log in to Kakao now? (needs a browser)",
    ),
    "kakao_login_later": (
        "나중에 로그인하세요: inqd kakao-login --config {path} --channel {name} (inqd가 실행 중이면 웹 화면의 "
        "상태 페이지에서 '카카오 로그인')",
        "Log in later: inqd kakao-login --config {path} --channel {name} (while inqd runs: the '카카오 로그인' button "
        "on the web inbox's status page)",
    ),
    "kakao_login_failed": ("카카오 로그인을 마치지 못했습니다: {error}", "The Kakao login did not finish: {error}"),
    "loose_dir": (
        "주의: 다른 사용자도 {path}에 접근할 수 있습니다. chmod 700 {path:를} 권합니다.",
        "Note: other users can access {path}; chmod 700 {path} is advised.",
    ),
    "sending_test": ("'{name}' 채널로 시험 알림을 보냅니다...", "Sending test notifications to '{name}'..."),
    "test_ok": (
        "시험 알림 {count}개를 보냈습니다. 휴대폰에서 확인하고, 최고 우선순위 알림이 방해 금지 모드에서도 "
        "울리는지 보세요.",
        "Sent {count} test notification(s). Check the phone, and that the max-priority one rings through "
        "Do-Not-Disturb.",
    ),
    "test_failed": ("시험 알림을 보내지 못했습니다: {error}", "The test notification failed: {error}"),
    "reenter_channel": ("채널을 다시 입력할까요? (n: 이대로 저장)", "Enter the channel again? (n: keep it as it is)"),
    "env_wins": (
        "주의: 환경 변수 {env:가} 설정되어 있어 파일보다 먼저 쓰입니다.",
        "Note: env {env} is set and wins over the file.",
    ),
    "not_saved": (
        "설정 파일을 저장하지 않았습니다. 확인에서 나온 문제:",
        "The config file was not saved. The check found:",
    ),
    "config_error": ("inqd init: 설정 오류: {line}", "inqd init: config error: {line}"),
    "saved": ("저장했습니다: {path}", "Saved: {path}"),
    "backup": ("이전 파일: {path}", "Previous file: {path}"),
    "secrets_saved": (
        "비밀 값 {count}개: {path} (파일 권한 0600, 설정 파일에는 없습니다)",
        "{count} secret(s) in {path} (mode 0600, none in the config file)",
    ),
    "next_steps": (
        "다음 단계:\n"
        "  inqd check --config {path}\n"
        "  inqd run --config {path}\n"
        "  서비스로 계속 실행하려면 README의 'Run as a service'를 보세요.",
        "Next:\n"
        "  inqd check --config {path}\n"
        "  inqd run --config {path}\n"
        "  To keep it running as a service, see 'Run as a service' in the README.",
    ),
    "eof": ("입력이 끝나 아무것도 저장하지 않았습니다.", "Input ended; nothing was saved."),
    "interrupted": ("중단했습니다. 아무것도 저장하지 않았습니다.", "Interrupted; nothing was saved."),
    "quit": ("저장하지 않고 끝냅니다.", "Quitting without saving."),
}

# Comments of a config file the wizard writes (new files and new tables only).
_COMMENTS: dict[str, tuple[str, str]] = {
    "header": (
        "inqd 설정 파일. inqd init이 만들었고, 다시 실행하면 이 파일을 고칩니다 (주석과 다른 키는 그대로 둡니다).\n"
        "확인: inqd check --config {path}\n"
        "모든 키의 설명: deploy/inqd.example.toml. 모르는 키는 오류입니다.\n"
        "비밀 값(키, 토큰)은 이 파일에 없습니다: secrets_dir의 <id>.<필드> 파일(권한 0600)이나\n"
        "환경 변수 INQD_<ID>__<필드>에 둡니다 (환경 변수가 먼저입니다).",
        "inqd configuration. Written by inqd init; running it again edits this file (comments and other keys stay).\n"
        "Check it: inqd check --config {path}\n"
        "Every key is documented in deploy/inqd.example.toml. Unknown keys are errors.\n"
        "No secrets (keys, tokens) in this file: they are files <id>.<field> (mode 0600) in secrets_dir, or\n"
        "env vars INQD_<ID>__<FIELD> (an env var wins).",
    ),
    "db_path": (
        "문의, 커서, 발송 대기열이 있는 SQLite 데이터베이스 (0600으로 만듭니다).",
        "The SQLite database (created 0600).",
    ),
    "secrets_dir": (
        "비밀 값 파일이 있는 폴더 (환경 변수 INQD_SECRETS_DIR가 먼저입니다).",
        "Folder of secret files (env INQD_SECRETS_DIR wins).",
    ),
    "quiet_default": (
        '조용한 시간: 기본값(매일 22:00-09:00과 모든 공휴일) = quiet_hours = ["night", "closed-days"]',
        "Quiet hours: the default (every night 22:00-09:00 and every public holiday) = "
        'quiet_hours = ["night", "closed-days"]',
    ),
    "work_default": (
        '업무 시간: 기본값(평일 13:00-18:00, 공휴일 제외) = work_hours = ["cs-hours"]',
        'Work hours: the default (weekdays 13:00-18:00, never on a holiday) = work_hours = ["cs-hours"]',
    ),
    "hours_tail": (
        "바꾸려면 inqd init을 다시 실행하세요. 확인: inqd schedule --config {path}",
        "Run inqd init again to change them. See them: inqd schedule --config {path}",
    ),
    "quiet_hours": ("휴대폰이 울리지 않는 시간 (inqd init).", "The phone stays silent in these (inqd init)."),
    "work_hours": ("내 목표 시간을 세는 업무 시간 (inqd init).", "Work hours your own target counts (inqd init)."),
    "secrets_of": (
        "비밀 값 {fields}: {path}/{owner}.<필드> 파일\n(또는 환경 변수 {envs})",
        "Secrets {fields}: files {path}/{owner}.<field>\n(or env {envs})",
    ),
}


_SAY = Texts(_MESSAGES)
_COMMENT = Texts(_COMMENTS)


def say(lang: Lang, key: str, **values: object) -> str:
    """The message `key` in `lang`, with `values` filled in."""
    return _SAY(lang, key, **values)


def comment(lang: Lang, key: str, **values: object) -> list[str]:
    """The comment lines of `key` in `lang`."""
    return _COMMENT(lang, key, **values).splitlines()


def field_prompt(lang: Lang, kind: str, field: str) -> str:
    """The prompt for one field of an account or a channel."""
    ko, en = _FIELDS[(kind, field)]
    return ko if lang == "ko" else en


def market_name(lang: Lang, marketplace: Marketplace) -> str:
    """What a seller calls the marketplace, in `lang`."""
    return marketplace.label if lang == "ko" else _MARKETS_EN[marketplace]


def auth_hint(lang: Lang, marketplace: Marketplace) -> str:
    """What to check when the marketplace refuses the credentials."""
    ko, en = _AUTH_HINTS[marketplace]
    return ko if lang == "ko" else en
