"""What the `inqd` commands print, in Korean (the default) and English: key -> (Korean, English).

`{value:을}` in a Korean text adds the particle that fits the value (see aggregator.language). The lines of
`inqd explain` are in aggregator.cli.explain_texts; TEXTS holds them too, so a run looks every key up in one table.
"""

from __future__ import annotations

from aggregator.cli.explain_texts import EXPLAIN_TEXTS
from aggregator.language import Texts

_GENERAL = {
    "config_error": ("inqd: 설정 오류: {line}", "inqd: config error: {line}"),
    "no_database": (
        "inqd: 아직 데이터베이스가 없습니다: {path} (먼저 inqd run이나 inqd demo를 실행하세요)",
        "inqd: no database yet at {path} (run the daemon first)",
    ),
    "no_inquiry": ("inqd: #{id} 문의가 없습니다 (inqd queue로 확인하세요)", "inqd: no inquiry #{id} (see inqd queue)"),
    "days_range": ("inqd: --days는 1에서 366 사이여야 합니다", "inqd: --days must be between 1 and 366"),
    "report_weeks_range": (
        "inqd: --weeks는 1에서 {most} 사이여야 합니다",
        "inqd: --weeks must be between 1 and {most}",
    ),
    "report_png_unwritable": (
        "inqd: PNG 파일을 쓸 수 없습니다: {path} ({reason})",
        "inqd: cannot write the PNG file {path} ({reason})",
    ),
    "none": ("없음", "none"),
}

_CHECK = {
    "check_ok": ("{path}: 설정이 올바릅니다", "{path}: OK"),
    "check_base": ("  시간대: {zone}; 데이터베이스: {db}", "  time zone: {zone}; database: {db}"),
    "check_database": (
        "  데이터베이스 스키마: v{version} (이 inqd는 v{current}; 처음 시작할 때 맞춥니다)",
        "  database schema: v{version} (this inqd: v{current}; brought up to date at start)",
    ),
    "check_database_newer": (
        "inqd: 데이터베이스 스키마 v{version}가 이 inqd(v{current})보다 새롭습니다: inqd를 업데이트하세요",
        "inqd: the database schema v{version} is newer than this inqd (v{current}): update inqd",
    ),
    "check_database_unreachable": (
        "inqd: 데이터베이스 {db}에 연결할 수 없습니다: {reason}",
        "inqd: cannot reach the database {db}: {reason}",
    ),
    "check_account": (
        "  계정 {id}: {shop} ({ref}) — {streams}; {interval:g}초마다, 초당 최대 {rate:g}회, {url}",
        "  account {id}: {shop} ({ref}) — {streams}; every {interval:g} s, at most {rate:g} req/s, {url}",
    ),
    "check_no_accounts": (
        "  계정이 없습니다: 가져올 문의가 없습니다",
        "  no accounts configured: nothing will be polled",
    ),
    "check_secret_in_file": (
        "  주의: {key:이} 설정 파일에 적혀 있습니다. 환경 변수나 secrets_dir로 옮기세요",
        "  warning: {key} is written in the config file; move it to an env var or secrets_dir",
    ),
    "check_channel": ("  채널 {name}: {type} — {kinds}{fallback}", "  channel {name}: {type} — {kinds}{fallback}"),
    "check_all_kinds": ("모든 메시지", "all messages"),
    "check_fallback": ("; {after} 동안 못 보내면 {fallback:으로}", "; falls back to {fallback} after {after}"),
    "check_ntfy_public": (
        "  주의: 채널 {name}: ntfy.sh에 인증 없이 보냅니다. 토픽을 짐작한 누구나 구매자 문의를 읽을 수 있습니다: "
        "길고 무작위인 토픽이나 토큰, 또는 직접 운영하는 ntfy 서버를 쓰세요",
        "  warning: notifiers: {name} publishes to ntfy.sh without auth: anyone who guesses the topic can read "
        "your buyers' questions; use a long random topic, a token, or your own ntfy server",
    ),
    "check_hours": (
        "  조용한 시간: {quiet}; 업무시간: {work}; 공휴일: {holidays}",
        "  quiet hours: {quiet}; work hours: {work}; holidays: {holidays}",
    ),
    "check_sla": (
        "  마감: 규칙이 없으면 {deadline}; 경고: {warn}; 조용한 시간 중 긴급 알림: {breakthrough}",
        "  SLA: deadline {deadline} unless a rule says otherwise; warn at {warn}; breakthrough {breakthrough}",
    ),
    "never": ("없음", "never"),
    "on": ("켬", "on"),
    "off": ("끔", "off"),
    "check_rule": ("    {marketplace}.{stream}: {parts}", "    {marketplace}.{stream}: {parts}"),
    "check_rule_deadline": ("마감 {duration}", "deadline {duration}"),
    "check_rule_target": ("업무시간 기준 목표 {duration}", "own target {duration} of work hours"),
    "check_rule_defaults": ("기본값", "defaults"),
}

_QUEUE = {
    "queue_columns": (
        "ID|마켓|스트림|접수 (KST)|마감 (KST)|남은 시간|내용",
        "ID|MARKETPLACE|STREAM|RECEIVED (KST)|DEADLINE (KST)|LEFT|EXCERPT",
    ),
    "queue_empty": ("미답변 문의가 없습니다.", "No open inquiries."),
    "queue_count": ("미답변 {count}건", "{count} open"),
    "queue_promised": ("[약속 {at}]", "[promised {at}]"),
    "queue_snoozed": ("[미룸]", "[snoozed]"),
    "queue_handled": ("[처리함]", "[handled]"),
}

_SCHEDULE = {
    "schedule_head": (
        "시간대 {zone} · 조용한 시간: {quiet} · 업무시간: {work}",
        "time zone {zone} · quiet hours: {quiet} · work hours: {work}",
    ),
    "schedule_all_quiet": ("{day} — 종일 조용", "{day} — quiet all day"),
    "schedule_quiet": ("조용 {ranges}", "quiet {ranges}"),
    "schedule_work": ("업무 {ranges}", "work {ranges}"),
    "schedule_no_work": ("업무 없음", "no work hours"),
}

_STATUS = {
    "status_title": ("inqd 상태 · {now} KST", "inqd status · {now} KST"),
    "status_quiet_now": ("지금 조용한 시간 · 끝: {when}", "quiet hours now · they end {when}"),
    "status_quiet_next": ("조용한 시간 아님 · 다음 시작: {when}", "not quiet hours · next start {when}"),
    "status_ok": ("정상", "ok"),
    "status_problem": ("문제", "problem"),
    "status_starting": ("아직 확인 전", "not checked yet"),
    "status_last_success": ("마지막 성공 {at} ({age} 전)", "last success {at} ({age} ago)"),
    "status_last_error": ("마지막 오류 {at} {error} (연속 {count}회)", "last error {at} {error} ({count} in a row)"),
    "status_next_poll": ("다음 확인 {at}{late}", "next poll {at}{late}"),
    "status_overdue": (" — 지났음: inqd가 실행 중인지 확인하세요", " — overdue: check that inqd is running"),
    "status_open": ("미답변 {count}건, 가장 오래된 것 {age}", "{count} open, the oldest {age}"),
    "status_none_open": ("미답변 없음", "nothing open"),
    "status_leader": ("리더 인스턴스: {holder}", "leader instance: {holder}"),
    "status_no_leader": ("리더 인스턴스 없음", "no leader instance"),
    "status_lease": ("{account}: {holder} 인스턴스가 확인", "{account}: polled by {holder}"),
    "status_lease_none": ("{account}: 확인하는 인스턴스 없음", "{account}: no instance holds it"),
    "status_outage": ("{what} 알림 보냄: {account} ({since}부터)", "{what} notice sent: {account} (since {since})"),
    "status_auth_failed": ("인증 실패", "authentication failure"),
    "status_lost": ("연결 끊김", "connection lost"),
    "status_messages": ("메시지: {waiting}", "messages: {waiting}"),
    "status_nothing_waiting": ("밀린 것 없음", "nothing waiting"),
    "status_pending": ("보낼 예정 {count}", "to send {count}"),
    "status_held": ("조용한 시간 보류 {count}", "held for quiet hours {count}"),
    "status_failed": ("보내지 못함 {count}", "not delivered {count}"),
    "status_channel_failure": (
        "채널 {channel}: {count}건을 끝내 보내지 못함 (마지막 {at}: {error}) — 설정(토큰, 주소)을 확인한 뒤 "
        "`inqd test-notify --channel {channel}`",
        "channel {channel}: {count} message(s) refused for good (last {at}: {error}) — check its settings "
        "(token, address), then `inqd test-notify --channel {channel}`",
    ),
    "status_kakao_login_ends": (
        "카카오 로그인 만료 {days}일 전 (channel {channel}) — `inqd kakao-login --channel {channel}`",
        "Kakao login ends in {days} day(s) (channel {channel}) — `inqd kakao-login --channel {channel}`",
    ),
    "status_kakao_login_today": (
        "카카오 로그인 오늘 만료 (channel {channel}) — `inqd kakao-login --channel {channel}`",
        "Kakao login ends today (channel {channel}) — `inqd kakao-login --channel {channel}`",
    ),
    "status_kakao_login_expired": (
        "카카오 로그인 만료됨 (channel {channel}) — `inqd kakao-login --channel {channel}`",
        "Kakao login ended (channel {channel}) — `inqd kakao-login --channel {channel}`",
    ),
    "status_kakao_no_login": (
        "카카오 로그인 없음 (channel {channel}) — `inqd kakao-login --channel {channel}`",
        "no Kakao login (channel {channel}) — `inqd kakao-login --channel {channel}`",
    ),
}

_DEMO = {
    "check_templates": ("  답변 템플릿: {count}개 ({path})", "  answer templates: {count} in {path}"),
    "check_no_shop_name": (
        "  주의: shop_name이 없어 답변 템플릿의 {{쇼핑몰}}이 마켓 이름(쿠팡 등)으로 채워집니다: 상점 이름을 설정하세요",
        "  warning: shop_name is not set: {{쇼핑몰}} in answer templates becomes the marketplace's name",
    ),
    "check_answer_warning": ("  주의: 계정 {id}: {line}", "  warning: account {id}: {line}"),
    "demo_hints": (
        "  설정:         {config} (데모 계정과 샌드박스 전용 키)\n"
        "  미답변 목록:  inqd queue --config {config}\n"
        "  문의 하나:    inqd explain ID --config {config}\n"
        "  연결 상태:    inqd status --config {config}\n"
        "  상점 상태:    {state} (같은 --data-dir로 다시 실행하면 같은 상점이 이어집니다)",
        "  config:        {config} (the demo accounts and their sandbox-only keys)\n"
        "  open queue:    inqd queue --config {config}\n"
        "  one inquiry:   inqd explain ID --config {config}\n"
        "  streams:       inqd status --config {config}\n"
        "  shops:         {state} (the same --data-dir continues the same shops)",
    ),
    "demo_answering": (
        "#{id} ({shop} {stream})에 '{template}' 템플릿으로 답변합니다. 보내기 전 점검: {findings}",
        "answering #{id} ({shop} {stream}) with the template '{template}'; the check: {findings}",
    ),
    "demo_no_findings": ("문제 없음", "no findings"),
    "demo_not_approved": (
        "#{id}의 답변은 승인되지 않았습니다: {error}",
        "the answer to #{id} was not approved: {error}",
    ),
    "demo_approved": ("답변 {answer} demo로 승인: “{text}”", "answer #{id} approved as demo: “{text}”"),
    "demo_sent": (
        "답변 {answer} 쿠팡 샌드박스에 보냈습니다 (마켓이 받음)",
        "answer #{id} sent to the Coupang sandbox (the marketplace took it)",
    ),
    "demo_confirmed": (
        "답변 #{id} 확인됨: 다음 조회에서 샌드박스가 답변된 문의로 보여 줍니다",
        "answer #{id} confirmed by the next poll: the sandbox lists the question as answered",
    ),
    "demo_ended": ("답변 #{id}: {state}", "answer #{id}: {state}"),
    "demo_web": (
        "  웹 문의함:    http://{host}:{port}/ (이 컴퓨터의 브라우저로 여세요)\n",
        "  web inbox:     http://{host}:{port}/ (open it in a browser on this machine)\n",
    ),
    "demo_banner": (
        "inqd 데모: 샌드박스 {where}; {interval:g}초마다 확인\n"
        "  데이터베이스: {db}\n"
        "  알림:         콘솔과 {sink}\n"
        "{hints}"
        "{web}"
        "  상태:         http://{host}:{port}/healthz 와 /metrics\n"
        "  조용한 시간:  데모에서는 꺼져 있습니다 (기본 설정은 22:00-09:00와 공휴일에 알림을 모아 둡니다)\n"
        "  Ctrl-C로 멈춥니다.",
        "inqd demo: sandboxes at {where}; polling every {interval:g} s\n"
        "  database:      {db}\n"
        "  notifications: console and {sink}\n"
        "{hints}"
        "{web}"
        "  health:        http://{host}:{port}/healthz and /metrics\n"
        "  quiet hours:   off in the demo (the default config holds messages 22:00-09:00 and on holidays)\n"
        "  Ctrl-C stops.",
    ),
}

_TEST_NOTIFY = {
    "notify_no_channel": (
        "inqd: {name!r} 채널이 없습니다 (있는 채널: {names})",
        "inqd: no channel named {name!r} (channels: {names})",
    ),
    "notify_sent": (
        "{name} ({type}): 시험 메시지 {count}개를 보냈습니다. 휴대폰을 확인하세요",
        "{name} ({type}): sent {count} test message(s); check the work phone",
    ),
    "notify_failed": ("{name} ({type}): 보내지 못했습니다 — {advice}", "{name} ({type}): FAILED — {advice}"),
    "notify_will_retry": (" (실행 중인 inqd는 다시 시도합니다)", " (the daemon retries such failures)"),
}

# "advice_<what failed>_<channel type>" (or "_any" for any type): what failed and what to check; {error} is the
# channel's own error.
_TEST_NOTIFY_ADVICE = {
    "advice_unreachable_ntfy": (
        "ntfy 서버 {server}에 연결하지 못했습니다 ({error}). server_url과 이 컴퓨터의 네트워크를 확인하세요",
        "could not reach the ntfy server {server} ({error}). Check server_url and this machine's network",
    ),
    "advice_unreachable_telegram": (
        "텔레그램 API {server}에 연결하지 못했습니다 ({error}). 네트워크(방화벽, 프록시)를 확인하세요",
        "could not reach the Telegram API at {server} ({error}). Check the network (firewall, proxy)",
    ),
    "advice_unreachable_sms": (
        "솔라피 {server}에 연결하지 못했습니다 ({error}). 네트워크(방화벽, 프록시)를 확인하세요",
        "could not reach Solapi at {server} ({error}). Check the network (firewall, proxy)",
    ),
    "advice_unreachable_any": (
        "받는 서버에 연결하지 못했습니다 ({error}). url과 이 컴퓨터의 네트워크를 확인하세요",
        "could not reach the receiving server ({error}). Check the url and this machine's network",
    ),
    "advice_timeout_any": (
        "{server} 서버가 제때 답하지 않았습니다 ({error}). 서버가 살아 있는지, 네트워크가 느리지 않은지 확인하고 "
        "다시 해 보세요",
        "{server} did not answer in time ({error}). Check that the server is up and the network is not slow, "
        "then try again",
    ),
    "advice_auth_ntfy": (
        "ntfy 서버가 인증을 거부했습니다 ({error}). token(또는 username, password)과 그 토픽에 쓸 권한을 확인하세요",
        "the ntfy server refused the credentials ({error}). Check the token (or username and password) and "
        "its write access to the topic",
    ),
    "advice_auth_telegram": (
        "텔레그램이 봇을 거부했습니다 ({error}). bot_token을 확인하고, 봇에게 /start를 보냈는지 확인하세요",
        "Telegram refused the bot ({error}). Check bot_token, and that you sent /start to the bot",
    ),
    "advice_auth_sms": (
        "솔라피가 키를 거부했습니다 ({error}). api_key와 api_secret, 솔라피에 등록한 허용 IP를 확인하세요",
        "Solapi refused the keys ({error}). Check api_key, api_secret and the IP allow-list in Solapi",
    ),
    "advice_auth_any": (
        "받는 서버가 요청을 거부했습니다 ({error}). url에 든 토큰을 확인하세요",
        "the receiving server refused the request ({error}). Check the token in the url",
    ),
    "advice_not_found_ntfy": (
        "ntfy 서버에 그런 토픽이 없습니다 ({error}). topic과 server_url을 확인하세요",
        "the ntfy server has no such topic ({error}). Check topic and server_url",
    ),
    "advice_not_found_telegram": (
        "텔레그램이 봇이나 대화를 찾지 못했습니다 ({error}). bot_token과 chat_id를 확인하세요",
        "Telegram found no such bot or chat ({error}). Check bot_token and chat_id",
    ),
    "advice_not_found_any": (
        "받는 서버에 그런 주소가 없습니다 ({error}). url을 확인하세요",
        "the receiving server has no such address ({error}). Check the url",
    ),
    "advice_refused_telegram": (
        "텔레그램이 메시지를 거부했습니다 ({error}). chat_id와, 봇이 그 대화에 있는지 확인하세요",
        "Telegram refused the message ({error}). Check chat_id, and that the bot is in that chat",
    ),
    "advice_refused_sms": (
        "솔라피가 메시지를 거부했습니다 ({error}). sender가 등록한 발신번호인지, recipient와 잔액을 확인하세요",
        "Solapi refused the message ({error}). Check that sender is a registered number, the recipient and the balance",
    ),
    "advice_refused_any": (
        "받는 서버가 메시지를 거부했습니다 ({error}). 채널 설정을 확인하세요",
        "the receiving server refused the message ({error}). Check the channel's settings",
    ),
    "advice_busy_any": (
        "서버가 지금 받지 못합니다: 과부하나 장애 ({error}). 잠시 뒤 다시 해 보세요",
        "the server cannot take it now: overloaded or down ({error}). Try again in a while",
    ),
    "advice_other_any": (
        "보내지 못했습니다 ({error}). 채널 설정과 네트워크를 확인하세요",
        "not delivered ({error}). Check the channel's settings and the network",
    ),
}

_MIGRATE = {
    "migrate_source_form": (
        "inqd: --from은 sqlite:경로 형식입니다 (예: --from sqlite:/var/lib/inqd/inqd.db)",
        "inqd: --from takes sqlite:PATH (e.g. --from sqlite:/var/lib/inqd/inqd.db)",
    ),
    "migrate_no_source": ("inqd: SQLite 파일이 없습니다: {path}", "inqd: no SQLite file at {path}"),
    "migrate_target_not_postgres": (
        "inqd: 옮길 곳은 PostgreSQL이어야 합니다: 설정에 database_url을 적으세요 (지금은 {target})",
        "inqd: the target must be PostgreSQL: set database_url in the config (now {target})",
    ),
    "migrate_target_not_empty": (
        "inqd: {target}에 이미 문의가 있습니다: 두 큐를 합치지 않습니다 (빈 데이터베이스를 쓰세요)",
        "inqd: {target} already holds inquiries: two queues are never merged (use an empty database)",
    ),
    "migrate_target_busy": (
        "inqd: {target}에서 데몬이 실행 중입니다: 먼저 멈추세요",
        "inqd: a daemon runs on {target}: stop it first",
    ),
    "migrate_source_busy": (
        "inqd: {path}에서 데몬이 실행 중입니다: 먼저 멈추세요 (옮기는 동안 큐가 바뀌지 않도록)",
        "inqd: a daemon runs on {path}: stop it first (the queue must not change while it moves)",
    ),
    "migrate_unreachable": ("inqd: 데이터베이스를 열 수 없습니다: {error}", "inqd: cannot open the database: {error}"),
    "migrate_done": (
        "{source} → {target}: 옮겼습니다 (원본 파일은 그대로입니다)",
        "{source} → {target}: moved (the file is left as it was)",
    ),
    "migrate_table": ("  {table}: {count}행", "  {table}: {count} rows"),
}

TEXTS = Texts(
    _GENERAL
    | _CHECK
    | _QUEUE
    | _SCHEDULE
    | _STATUS
    | _DEMO
    | EXPLAIN_TEXTS
    | _TEST_NOTIFY
    | _TEST_NOTIFY_ADVICE
    | _MIGRATE
)
