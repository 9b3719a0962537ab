"""What `inqd explain` prints of one inquiry's history, in Korean (the default) and English: key -> (Korean, English).

The web inbox's inquiry page shows the same lines (aggregator.cli.reports.explain_lines); aggregator.cli.texts
joins this table to the other commands' texts. `{value:을}` in a Korean text adds the particle that fits the value.
"""

from __future__ import annotations

# `inqd explain`: the head of an inquiry, then one line per event (keyed by event kind), then alerts to come.
_EXPLAIN = {
    "explain_head": (
        "#{id} {shop} {stream} · 계정 {account} · 마켓 번호 {external_id}",
        "#{id} {shop} {stream} · account {account} · marketplace no. {external_id}",
    ),
    "explain_received": ("접수      {at}", "received  {at}"),
    "explain_deadline": ("마켓 마감  {at}{why}", "deadline  {at}{why}"),
    "explain_deadline_given": (" (마켓이 준 기한)", " (set by the marketplace)"),
    "explain_deadline_rule": (" (접수 + {duration})", " (received + {duration})"),
    "explain_target": ("목표      {at} (업무시간 {duration})", "target    {at} ({duration} of work hours)"),
    "explain_state": ("상태      {state}", "state     {state}"),
    "explain_open": ("미답변", "open"),
    "explain_answered": ("답변됨", "answered"),
    "explain_answered_at": ("답변됨 {at}", "answered {at}"),
    "explain_handled": (
        "처리함    {at}부터 (마켓에 답변이 보일 때까지 알림 없음)",
        "handled   since {at} (no alerts until the marketplace shows an answer)",
    ),
    "explain_snoozed": (
        "미룸      {at}까지 (마켓 마감 초과 알림은 미루지 않음)",
        "snoozed   until {at} (a passed marketplace deadline is still announced)",
    ),
    "explain_promised": ("약속      {at} 연락{note}", "promised  call-back at {at}{note}"),
    "explain_history": ("— 기록 —", "— history —"),
    "explain_upcoming": ("— 예정된 알림 —", "— alerts to come —"),
    "explain_due": (" (지남, 곧 처리)", " (due, handled shortly)"),
    "explain_by": (" ({who}, {actor})", " ({who}, {actor})"),
    "event_seen": ("받음", "received"),
    "event_answered": ("답변 확인 (판매자센터에서 답변됨)", "answered (in the seller center)"),
    "event_reopened": ("다시 미답변 (재문의)", "open again (a follow-up question)"),
    # What an alert's key means, in `inqd explain` (keys: policies/sla.py and policies/control_effects.py).
    "alert_clock_marketplace": ("마켓 답변 마감", "marketplace deadline"),
    "alert_clock_own": ("내 목표 시간", "own target"),
    "alert_warn_elapsed": ("{clock} 경고 ({point} 지남)", "{clock} warning ({point} elapsed)"),
    "alert_warn_left": ("{clock} 경고 ({point} 남음)", "{clock} warning ({point} left)"),
    "alert_breach": ("{clock} 지남", "{clock} passed"),
    "alert_repeat": ("{clock} 지난 뒤 다시 알림 ({n}번째)", "{clock} passed, reminder #{n}"),
    "alert_evening": (
        "저녁 알림: 조용한 시간({at}) 전에 답하세요",
        "evening warning: answer before quiet hours ({at})",
    ),
    "alert_promise_remind": ("약속({at}) 전 알림", "reminder before the promise ({at})"),
    "alert_promise_missed": ("약속 시각({at}) 지남: 아직 미답변", "promise time ({at}) passed, still open"),
    "alert_promise_due": ("답변에서 약속한 시각({at})", "the time promised in the answer ({at})"),
    # Each step of an answer's life in `inqd explain` (the `state` of its `answer` event).
    "answer_event": ("답변 #{id} {step}{said}", "answer #{id} {step}{said}"),
    "answer_said": (" — 마켓: {text}", " — marketplace: {text}"),
    "answer_step_draft": ("초안 저장", "draft saved"),
    "answer_step_approved": ("승인{by}", "approved{by}"),
    "answer_step_sending": ("보내는 중 ({attempt}번째 시도)", "sending (attempt {attempt})"),
    "answer_step_sent": ("보냄: 마켓이 받음", "sent: the marketplace took it"),
    "answer_step_confirmed": ("확인됨: 마켓에 답변이 보임", "confirmed: the marketplace shows the answer"),
    "answer_step_retry": (
        "마켓이 나중에 다시 보내라고 함: {retry_at}에 다시 보냄",
        "the marketplace asked to try later: sending again at {retry_at}",
    ),
    "answer_step_uncertain": (
        "결과 모름: 한 번만 받는 문의라 다음 조회에서 미답변이 확인되면 다시 보냄",
        "outcome unknown: a once-only inquiry, sent again only if the next polls show it still open",
    ),
    "answer_step_still_open": ("조회 결과 아직 미답변: 다시 보냄", "the polls show it still open: sending again"),
    "answer_step_already_answered": (
        "보내지 않음: 이미 답변된 문의 (마켓의 답변을 그대로 둠)",
        "not sent: already answered (the marketplace's answer is kept)",
    ),
    "answer_step_not_answerable": (
        "보내지 않음: 더 이상 답변할 수 없는 문의",
        "not sent: the inquiry can no longer be answered",
    ),
    "answer_step_refused": ("마켓이 거절함", "refused by the marketplace"),
    "answer_step_cancelled": ("취소{by}", "cancelled{by}"),
    "answer_step_recovered": (
        "inqd 재시작: 보내던 중이던 답변 → {to}",
        "inqd restarted: the answer being sent → {to}",
    ),
    "event_alert_queued": ("알림 예정 시각 도달: {key}{late}", "alert due: {key}{late}"),
    "event_late": (" · inqd가 꺼져 있던 동안 지난 알림", " · came due while inqd was not running"),
    "event_notified": ("{message} → {channel}: {reason}{note}", "{message} → {channel}: {reason}{note}"),
    "event_sent": ("보냄", "sent"),
    "event_held": (
        "{message} → {channel}: {reason} ({until} 요약으로)",
        "{message} → {channel}: {reason} (into the {until} digest)",
    ),
    "event_digested": ("조용한 시간 요약에 포함 → {channel}", "in the quiet-hours digest → {channel}"),
    "event_dropped": ("{message} → {channel}: {reason}", "{message} → {channel}: {reason}"),
    "event_snoozed": ("알림 미룸 → {until}까지{by}", "alerts snoozed until {until}{by}"),
    "event_unsnoozed": ("미루기 끝냄{by}", "snooze ended{by}"),
    "event_handled": (
        "처리함으로 표시: 마켓에 답변이 보일 때까지 알림 없음{by}",
        "marked handled: no alerts until the marketplace shows an answer{by}",
    ),
    "event_promised": ("{at} 연락 약속{note}{by}", "call-back promised for {at}{note}{by}"),
    "event_promise_withdrawn": ("약속 취소{by}", "promise withdrawn{by}"),
    "event_delivery_failed": (
        "{message} → {channel}: 보내지 못함 ({note})",
        "{message} → {channel}: not delivered ({note})",
    ),
}

# What an event's detail names, in words: message kinds, routing reasons, who set a control.
_EXPLAIN_NAMES = {
    "message_new_inquiry": ("새 문의", "new inquiry"),
    "message_backfill_summary": ("연결 요약", "connection summary"),
    "message_sla_warning": ("마감 경고", "deadline warning"),
    "message_sla_breach": ("마감 지남", "deadline passed"),
    "message_sla_repeat": ("미답변 반복 알림", "still-open reminder"),
    "message_evening_warning": ("저녁 경고", "evening warning"),
    "message_digest": ("요약", "digest"),
    "message_system": ("시스템 알림", "system notice"),
    "message_answered": ("휴대폰 알림 지우기", "clearing the phone's notification"),
    "message_promise_reminder": ("약속 시간 알림", "promise reminder"),
    "message_promise_missed": ("약속 시간 지남", "promise missed"),
    "reason_send_now": ("바로 보냄", "sent at once"),
    "reason_breakthrough": (
        "조용한 시간이지만 마감이 그 전에 지나서 보냄",
        "sent in quiet hours: the deadline passes before they end",
    ),
    "reason_drop_answered": ("이미 답변되어 보내지 않음", "not sent: already answered"),
    "reason_drop_missing": ("문의가 없어 보내지 않음", "not sent: no such inquiry"),
    "reason_drop_handled": ("처리함으로 표시되어 보내지 않음", "not sent: marked handled"),
    "reason_drop_withdrawn": ("약속이 취소되거나 바뀌어 보내지 않음", "not sent: the promise was withdrawn or moved"),
    "reason_channel cannot clear": ("이 채널은 알림을 지울 수 없음", "this channel cannot clear notifications"),
    "reason_server cannot clear": (
        "ntfy 서버가 알림 지우기를 지원하지 않음 (2.16 이상 필요)",
        "the ntfy server cannot clear notifications (2.16 or later needed)",
    ),
    "reason_hold_quiet": ("조용한 시간이라 보류", "held: quiet hours"),
    "actor_terminal": ("터미널", "terminal"),
    "actor_telegram": ("텔레그램 버튼", "Telegram button"),
    "actor_ntfy": ("ntfy 버튼", "ntfy button"),
    "actor_admin": ("관리 API", "admin API"),
}

EXPLAIN_TEXTS: dict[str, tuple[str, str]] = _EXPLAIN | _EXPLAIN_NAMES
