"""The draft judicial recommendation (司法建议书) and its annex, as one printable HTML page.

The letter follows the structure courts give a 司法建议书: the head (首部: court, title,
number), the body (主文: the institution addressed, the facts found with their figures, the
problems and the rule they break, the recommendations one by one, the request for a written
reply), and the foot (尾部: date, seal, copies). What only the court can supply (the
number, the date of signing, the contact) is left as a marked placeholder: this is a draft
for the judge who signs it. The annex that follows on its own page holds the evidence:
figures per operation, the institution's rank among its peers, why requests were not
answered in time, and two charts drawn with the performance report's own chart code.

Like ``render_html``, the page needs nothing but a browser: the CSS is inline, the charts
are inline SVG, a Content-Security-Policy forbids any request, and every text from data is
escaped. ``write_evidence_pack`` writes the letter, the annex spreadsheet and the PDF.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

from .._time import SHANGHAI, local_date
from ._html import (
    _BAD_RATE,
    _CSS,
    _DEADLINE,
    _PANEL_BOTTOM,
    _PANEL_H,
    _PANEL_LEFT,
    _PANEL_RIGHT,
    _PANEL_TOP,
    _PANEL_W,
    _SERIES_STYLES,
    DistributionWords,
    _e,
    _marker,
    _rate_axis,
    _rate_grid,
    _trend_series,
    distribution_section,
)
from ._model import OperationStats, PerformanceReport, TrendPoint
from ._pdf import print_pdf
from ._recommend import (
    AnnexRow,
    EvidencePack,
    Ranking,
    annex_csv,
    deadline_words,
    error_name,
    operation_name,
    outcome_name,
    shown,
)

__all__ = ["EvidenceFiles", "problems_found", "render_letter", "write_evidence_pack"]

# Placeholders the court fills in before the letter is signed.
COURT_PLACEHOLDER = "××人民法院"
DATE_PLACEHOLDER = "二〇××年××月××日"
_CONTROL_OPERATIONS = ("freeze", "seal", "deduct", "renew", "release", "receipt")
_KINDS = {"bank": "银行", "realestate": "不动产登记机构", "housing_fund": "住房公积金管理中心"}
_TOP_DELAYS = 20
_DIGITS = "〇一二三四五六七八九"
_ITEM_NUMBERS = "一二三四五六七八九十"


# --- words and numbers -------------------------------------------------------------------------


def chinese_number(value: int) -> str:
    """A count as a letter writes it: 三十, 十五, 一百零五 (0 to 999)."""
    if not 0 <= value <= 999:
        raise ValueError(f"{value} is outside 0 to 999")
    if value < 10:
        return _DIGITS[value]
    hundreds, rest = divmod(value, 100)
    tens, ones = divmod(rest, 10)
    text = f"{_DIGITS[hundreds]}百" if hundreds else ""
    if tens:
        text += f"{_DIGITS[tens]}十" if tens > 1 or hundreds else "十"
    elif hundreds and ones:
        text += "零"
    if ones:
        text += _DIGITS[ones]
    return text


def _day(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def _moment(pack: EvidencePack) -> str:
    local = pack.generated_at.astimezone(SHANGHAI)
    return f"{_day(local.date())}{local.hour}时{local.minute:02d}分"


def _period(pack: EvidencePack) -> str:
    return f"{_day(pack.period_from)}至{_day(pack.period_to)}"


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _hours(hours: float | None) -> str:
    """A turnaround as the letter states it: 45分钟, 21.5小时, 3.2天."""
    if hours is None:
        return "—"
    if hours < 1:
        return f"{round(hours * 60)}分钟"
    if hours < 48:
        return f"{hours:.1f}小时"
    return f"{hours / 24:.1f}天"


def _late(hours: float | None) -> str:
    """A delay as the annex spreadsheet gives it, in hours, and in days when long."""
    if hours is None:
        return "—"
    return f"{hours:.1f}小时" + (f"（{hours / 24:.1f}天）" if hours >= 48 else "")


def _kind(pack: EvidencePack) -> str:
    if pack.peers_by == "rule":
        return "期限相同的单位"
    return f"同类{_KINDS.get(pack.adapter or '', '单位')}"


def _placeholder(text: str) -> str:
    return f'<span class="placeholder">{_e(text)}</span>'


def _check(text: str) -> str:
    """A note to the judge, in the draft only: what to verify before the letter goes out."""
    return f'<span class="check">〔{_e(text)}〕</span>'


# --- the page ----------------------------------------------------------------------------------


def render_letter(pack: EvidencePack) -> str:
    """The draft letter and its annex as one HTML document, printable on A4."""
    title = f"司法建议书（草稿）· {pack.institution_name}"
    body = _letter(pack) + _annex(pack)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        # Nothing may be fetched: not a font, an image or a script, whatever the data holds.
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}\n{_LETTER_CSS}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _letter(pack: EvidencePack) -> str:
    return (
        '<article class="letter" aria-label="司法建议书">'
        '<p class="draft-mark" role="note">草稿 · 供审核签发 · '
        f"{_e(_moment(pack))}据本院系统记录生成 · 签发前请核对并填写标注之处</p>"
        f"{_head(pack)}{_body(pack)}{_foot(pack)}</article>"
    )


def _court(pack: EvidencePack) -> str:
    return _e(pack.court) if pack.court else _placeholder(COURT_PLACEHOLDER)


def _head(pack: EvidencePack) -> str:
    year = local_date(pack.generated_at).year  # the year the letter is issued in
    return (
        '<header class="letter-head" aria-label="首部" data-part="首部">'
        f'<p class="issuer">{_court(pack)}</p>'
        '<h1 class="doc-title">司法建议书</h1>'
        f'<p class="doc-number">{_placeholder(f"（{year}）×法建×号")}</p>'
        "</header>"
    )


def _body(pack: EvidencePack) -> str:
    paragraphs = [
        f'<p class="addressee">{_e(pack.institution_name)}：</p>',
        _opening(pack),
        *_facts(pack),
        _problems(pack),
        "<p>为此，根据《中华人民共和国民事诉讼法》关于有关单位协助人民法院执行的规定，"
        "本院提出如下司法建议：</p>",
        _items(pack),
        f"<p>请你单位在收到本建议书之日起{chinese_number(pack.reply_days)}日内，"
        "将采纳建议和整改落实的情况书面回复本院。</p>",
        f"<p>联系人：{_placeholder('××')}　　联系电话：{_placeholder('××')}</p>",
        f'<p class="attachment">附件：{_e(pack.institution_name)}协助执行请求办理情况统计'
        f"（{_e(_period(pack))}）</p>",
    ]
    return (
        '<section class="letter-body" aria-label="主文" data-part="主文">'
        + "".join(paragraphs)
        + "</section>"
    )


def _opening(pack: EvidencePack) -> str:
    operations = "、".join(operation_name(s.operation) for s in pack.stats)
    return (
        "<p>本院在执行工作中，依法通过网络执行查控系统向你单位发送被执行人财产"
        f"{_e(operations)}等协助执行请求。为掌握协助执行的办理情况，本院对"
        f"{_e(_period(pack))}向你单位发送的请求及其反馈情况进行了统计，"
        + ("发现你单位存在反馈不及时的问题。" if problems_found(pack) else "")
        + "现将有关情况和建议函告如下。</p>"
    )


def _facts(pack: EvidencePack) -> list[str]:
    paragraphs = [_operation_facts(pack, s, first=i == 0) for i, s in enumerate(pack.stats)]
    if len(pack.stats) > 1:
        paragraphs.append(
            f"<p>以上合计，本院向你单位发送请求{pack.requests}件，你单位反馈{pack.answered}件，"
            f"反馈率为{_percent(pack.feedback_rate)}；在期限内反馈{pack.met}件，"
            f"及时反馈率为{_percent(pack.timely_rate)}。</p>"
        )
    ranks = [_rank_sentence(pack, r) for r in pack.rankings]
    if any(ranks):
        paragraphs.append(f"<p>{''.join(r for r in ranks if r)}（详见附件）</p>")
    return paragraphs


def _operation_facts(pack: EvidencePack, stats: OperationStats, *, first: bool) -> str:
    name = operation_name(stats.operation)
    deadline = deadline_words(stats.deadline)
    when = f"经统计，{_period(pack)}，" if first else "同期，"
    text = (
        f"{when}本院向你单位发送{name}请求{stats.count}件，"
        f"你单位反馈{stats.answered}件，反馈率为{_percent(stats.feedback_rate)}；"
        f"其中在{deadline}的期限内反馈{stats.met}件，"
        f"及时反馈率为{_percent(stats.timely_rate)}。"
    )
    if stats.answered == 1:
        text += f"该件反馈用时{_hours(stats.median_hours)}，而期限为{deadline}。"
    elif stats.answered:
        text += (
            f"已反馈的请求，反馈用时的中位数为{_hours(stats.median_hours)}，"
            f"90%分位数为{_hours(stats.p90_hours)}，而期限为{deadline}。"
        )
    if stats.open_overdue:
        text += f"截至{_moment(pack)}，尚有{stats.open_overdue}件请求已过反馈期限仍未反馈。"
    if stats.failed:
        text += f"另有{stats.failed}件请求未能获得你单位的反馈（请求失败）。"
    return f"<p>{_e(text)}</p>"


def _rank_sentence(pack: EvidencePack, ranking: Ranking) -> str:
    position = ranking.position
    if position is None or ranking.ranked < 2:
        return ""
    return _e(
        f"在本院同期发送{operation_name(ranking.operation)}请求的{ranking.ranked}家"
        f"{_kind(pack)}中，你单位的及时反馈率排名第{position}位。"
    )


def problems_found(pack: EvidencePack) -> list[str]:
    """What the letter reproaches the institution with: empty if it was never late."""
    failures = pack.failures
    found = []
    if failures.answered_late:
        found.append(f"{failures.answered_late}件请求超过期限才予反馈")
    if failures.unanswered_past_due or failures.given_up_overdue:
        count = failures.unanswered_past_due + failures.given_up_overdue
        found.append(f"{count}件请求逾期未反馈")
    if failures.failed:
        reasons = "、".join(
            error_name(code).split("（")[0] for code, _ in failures.failed_by_error[:3]
        )
        found.append(f"{failures.failed}件请求因{reasons}等原因未能获得反馈")
    return found


def _problems(pack: EvidencePack) -> str:
    found = problems_found(pack)
    if found:
        problems = (
            f"<p>上述情况表明，你单位在协助执行中存在反馈不及时的问题：{_e('，'.join(found))}。"
            "反馈迟延影响人民法院及时查控被执行人财产，易使被执行人有机会转移、隐匿财产，"
            "损害申请执行人的合法权益，也影响执行工作的效率。"
        )
    else:
        problems = "<p>" + _check("统计期间未见超期情况，请核实是否仍有必要发送本建议书")
    return problems + _basis(pack) + "</p>"


def _basis(pack: EvidencePack) -> str:
    by_deadline: dict[str, list[str]] = {}
    for s in pack.stats:
        by_deadline.setdefault(deadline_words(s.deadline), []).append(operation_name(s.operation))
    deadlines = "；".join(
        f"{'、'.join(names)}请求{'均' if len(names) > 1 else ''}为{words}"
        for words, names in by_deadline.items()
    )
    text = f"关于反馈期限：本院计算的期限，{_e(deadlines)}"
    source = _source(pack)
    if source:
        text += f"，其依据为{_e(source)}"
        if pack.legal_basis_unsettled:
            text += _check("此期限为可配置的默认值而非明文规定，发送前请核实依据")
    else:
        text += _check("未载明依据：请补充期限的依据，或在规则包的 sla_sources 中载明")
    if pack.own_deadlines:
        own = "、".join(operation_name(o) for o in pack.own_deadlines)
        text += f"；其中{_e(own)}的期限为本院对你单位另行设定的期限" + _check("请写明该期限的依据")
    return text + "。"


def _items(pack: EvidencePack) -> str:
    items: list[str] = []
    inquiry = [s for s in pack.stats if s.operation == "inquiry" and s.met < s.count]
    for stats in inquiry:
        items.append(
            "进一步优化查询反馈流程，对本院通过网络执行查控系统发送的财产查询请求，"
            f"确保在{deadline_words(stats.deadline)}内有效反馈。"
        )
    controls = [s for s in pack.stats if s.operation in _CONTROL_OPERATIONS and s.met < s.count]
    if controls:
        deadlines = {s.deadline for s in controls}
        names = "、".join(operation_name(s.operation) for s in controls)
        if len(deadlines) == 1:
            within = f"在{deadline_words(controls[0].deadline)}内"
        else:
            within = (
                "在各自期限（"
                + "、".join(
                    f"{operation_name(s.operation)}{deadline_words(s.deadline)}" for s in controls
                )
                + "）内"
            )
        items.append(
            f"缩短{names}等控制措施的办理时间，确保{within}办理完毕并反馈结果，"
            "防止被执行人利用时间差转移财产。"
        )
    items.append(
        "明确负责协助执行工作的部门和专门联系人，配备足够的办理人员，"
        "并将联系人及联系方式告知本院，建立常态化的沟通协调机制。"
    )
    failures = pack.failures
    if failures.failed:
        reasons = "、".join(
            error_name(code).split("（")[0] for code, _ in failures.failed_by_error[:3]
        )
        items.append(
            "排查并解决网络执行查控专线及系统接口的技术问题（统计期间有"
            f"{failures.failed}件请求因{reasons}等原因未能获得反馈），保障查控链路稳定畅通。"
        )
    owed = failures.unanswered_past_due + failures.given_up_overdue
    if owed:
        items.append(
            f"对统计期间已过期限仍未反馈的{owed}件请求（见附件明细），"
            "请在收到本建议书后立即办理并反馈。"
        )
    numbered = "".join(
        f'<li><span class="item-number">{_ITEM_NUMBERS[i] if i < 10 else i + 1}、</span>'
        f"{_e(text)}</li>"
        for i, text in enumerate(items)
    )
    return f'<ol class="items">{numbered}</ol>'


def _foot(pack: EvidencePack) -> str:
    return (
        '<footer class="letter-foot" aria-label="尾部" data-part="尾部">'
        f'<p class="sign-court">{_court(pack)}</p>'
        f'<p class="sign-date">{_placeholder(DATE_PLACEHOLDER)}</p>'
        '<p class="seal">（院印）</p>'
        f'<p class="copies">抄送：{_placeholder("××")}</p>'
        "</footer>"
    )


# --- the annex ---------------------------------------------------------------------------------


def _source(pack: EvidencePack) -> str | None:
    """The rule pack's source for the deadlines, without its [U] mark (said in words)."""
    if not pack.legal_basis:
        return None
    return pack.legal_basis.strip().removeprefix("[U]").strip()


def _annex(pack: EvidencePack) -> str:
    basis = _source(pack) or "未载明"
    if pack.legal_basis and pack.legal_basis_unsettled:
        basis += "（可配置的默认值，并非明文规定）"
    facts = (
        ("统计期间", _period(pack) + "（以请求发出时间计）"),
        ("统计时点", _moment(pack) + "（北京时间）"),
        ("协助执行单位", f"{pack.institution_name}（{pack.institution}）"),
        ("期限依据", basis),
        ("请求总数", f"{pack.requests}件（逐件明细见 annex.csv）"),
    )
    rows = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts)
    return (
        '<section class="annex page" aria-label="附件">'
        '<p class="kicker">附件</p>'
        f"<h2>{_e(pack.institution_name)}协助执行请求办理情况统计</h2>"
        f'<dl class="facts">{rows}</dl>'
        f"{_figures_table(pack)}{_rankings(pack)}{_reasons(pack)}"
        f"{_distribution(pack.report)}{_trend(pack)}{_delays(pack)}"
        f"{_definitions()}</section>"
    )


def _figures_table(pack: EvidencePack) -> str:
    rows = "".join(
        f'<tr><th scope="row" class="text">{_e(operation_name(s.operation))}</th>'
        f'<td class="text">{_e(deadline_words(s.deadline))}</td>'
        f"<td>{s.count}</td><td>{s.answered}</td><td>{_percent(s.feedback_rate)}</td>"
        f"<td>{s.met}</td><td>{_percent(s.timely_rate)}</td>"
        f"<td>{_e(_hours(s.median_hours))}</td><td>{_e(_hours(s.p90_hours))}</td>"
        f"<td>{s.breaches}</td><td>{s.open_overdue}</td><td>{s.failed}</td></tr>"
        for s in pack.stats
    )
    if len(pack.stats) > 1:
        rows += (
            '<tr class="total"><th scope="row" class="text">合计</th><td></td>'
            f"<td>{pack.requests}</td><td>{pack.answered}</td>"
            f"<td>{_percent(pack.feedback_rate)}</td><td>{pack.met}</td>"
            f"<td>{_percent(pack.timely_rate)}</td><td></td><td></td>"
            f"<td>{sum(s.breaches for s in pack.stats)}</td><td>{pack.open_overdue}</td>"
            f"<td>{pack.failed}</td></tr>"
        )
    return (
        '<section class="block"><h3>一、分项统计</h3>'
        '<table class="figures"><thead><tr><th scope="col" class="text">事项</th>'
        '<th scope="col" class="text">期限</th><th scope="col">请求</th>'
        '<th scope="col">已反馈</th><th scope="col">反馈率</th>'
        '<th scope="col">期限内反馈</th><th scope="col">及时反馈率</th>'
        '<th scope="col">用时中位数</th><th scope="col">用时90%分位</th>'
        '<th scope="col">超期反馈</th><th scope="col">逾期未反馈</th>'
        '<th scope="col">请求失败</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></section>"
    )


def _rankings(pack: EvidencePack) -> str:
    tables = "".join(_ranking_table(pack, r) for r in pack.rankings)
    how = (
        "同类单位：本院配置的同一类型（同一适配器）的全部协助执行单位。"
        if pack.peers_by == "adapter"
        else "该单位未在本院配置中：比较对象为同一事项期限相同的单位。"
    )
    return (
        f'<section class="block"><h3>二、与{_e(_kind(pack))}的比较</h3>'
        f'<p class="lede">{_e(how)}按及时反馈率由高到低排列；及时反馈率相同的，'
        "请求件数（样本量）多者在前。</p>"
        f"{tables}</section>"
    )


def _ranking_table(pack: EvidencePack, ranking: Ranking) -> str:
    rows = "".join(
        ('<tr class="addressed">' if e.addressed else "<tr>")
        + f"<td>{e.rank if e.rank is not None else '—'}</td>"
        f'<th scope="row" class="text">{_e(e.name)}</th>'
        f"<td>{e.requests}</td><td>{e.answered if e.rank is not None else '—'}</td>"
        f"<td>{_percent(e.feedback_rate)}</td>"
        f"<td>{e.met if e.rank is not None else '—'}</td><td>{_percent(e.timely_rate)}</td></tr>"
        for e in ranking.entries
    )
    caption = (
        f"{operation_name(ranking.operation)}（期限{deadline_words(ranking.deadline)}）："
        f"你单位排名第{ranking.position}位，共{ranking.ranked}家"
    )
    return (
        f'<table class="ranking"><caption>{_e(caption)}</caption>'
        '<thead><tr><th scope="col">排名</th><th scope="col" class="text">单位</th>'
        '<th scope="col">请求件数（样本量）</th><th scope="col">已反馈</th>'
        '<th scope="col">反馈率</th><th scope="col">期限内反馈</th>'
        '<th scope="col">及时反馈率</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _reasons(pack: EvidencePack) -> str:
    failures = pack.failures
    rows = [
        ("超期反馈", "超过期限后才反馈", failures.answered_late),
        ("逾期未反馈", "已过期限，仍在等待反馈", failures.unanswered_past_due),
        ("逾期未反馈（已停止等待）", "期限及宽限期届满仍无反馈", failures.given_up_overdue),
        ("请求失败", "未获得反馈即告失败", failures.failed),
    ]
    body = "".join(
        f'<tr><th scope="row" class="text">{_e(name)}</th><td class="text">{_e(what)}</td>'
        f"<td>{count}</td></tr>"
        for name, what, count in rows
    )
    body += "".join(
        f'<tr class="sub"><th scope="row" class="text">其中：{_e(error_name(code))}</th>'
        f'<td class="text">审计记录中的错误代码</td><td>{count}</td></tr>'
        for code, count in failures.failed_by_error
    )
    return (
        '<section class="block"><h3>三、未及时反馈的原因</h3>'
        '<table class="reasons"><thead><tr><th scope="col" class="text">情形</th>'
        '<th scope="col" class="text">含义</th><th scope="col">件数</th></tr></thead>'
        f"<tbody>{body}</tbody></table></section>"
    )


# --- charts: drawn by the performance report's code, labelled in Chinese -----------------------


LETTER_WORDS = DistributionWords(
    detail=lambda s: f"{operation_name(s.operation)} · 期限{deadline_words(s.deadline)}",
    fixed_title="按小时计的期限：响应时间（自请求发出至收到反馈）",
    fixed_axis="响应时间（红色虚线为期限）",
    working_title="按工作日计的期限：超过期限的时长",
    working_axis="超过期限的时长（红色虚线为期限，其左为期限内）",
    heading="<h3>四、响应时间分布与期限</h3>"
    '<p class="lede">每行为一家单位的一类事项，每个点为一次反馈；'
    "红色虚线为期限，其右侧（橙色）的点为超期反馈。首行为你单位，其余为比较对象。</p>",
    empty="统计期间无请求。",
    legend=("期限内反馈", "超期反馈", "中间50%的反馈及中位数", "5%至95%分位", "期限"),
    scales=("线性刻度", "对数刻度"),
    units=("分钟", "小时", "天"),
    no_answers="统计期间无反馈",
    late=lambda count: f"超期{count}件",
    summary=lambda name, detail, answered, late: (
        f"{name}，{detail}：反馈{answered}件，超期{late}件"
    ),
)


def _distribution(report: PerformanceReport) -> str:
    return distribution_section(report, LETTER_WORDS)


@dataclass(frozen=True, slots=True)
class _Weeks:
    """The weeks of the period, Monday to Sunday, as the trend chart's x axis."""

    starts: tuple[date, ...]

    def x(self, week: date) -> float:
        if len(self.starts) == 1:
            return (_PANEL_LEFT + _PANEL_RIGHT) / 2
        share = self.starts.index(week) / (len(self.starts) - 1)
        return _PANEL_LEFT + 10 + share * (_PANEL_RIGHT - _PANEL_LEFT - 20)


def _week_label(point: TrendPoint) -> str:
    week = point.period_start
    return (
        f"{week.month}月{week.day}日起一周，{operation_name(point.operation)}："
        f"反馈{point.answered}件，超期{point.breaches}件（{_percent(point.breach_rate)}）"
    )


def _weeks(pack: EvidencePack) -> _Weeks:
    first = pack.period_from - timedelta(days=pack.period_from.weekday())
    count = (pack.period_to - first).days // 7 + 1
    return _Weeks(tuple(first + timedelta(weeks=k) for k in range(count)))


_MAX_WEEK_LABELS = 5  # 10月19日 is wide: more would overlap


def _trend(pack: EvidencePack) -> str:
    heading = (
        '<section class="block trend"><h3>五、每周趋势</h3>'
        '<p class="lede">超期率：当周发出的请求中，超期反馈件数占已反馈件数的比例。'
        "没有反馈的一周不画点。</p>"
    )
    points = [p for p in pack.report.trend if p.institution == pack.institution]
    answered = [p for p in points if p.breach_rate is not None]
    if not answered:
        return heading + '<p class="empty">统计期间没有已反馈的请求。</p></section>'
    weeks = _weeks(pack)
    # In the letter's order (inquiries first), each operation keeping its colour and mark.
    ordered = [s.operation for s in pack.stats]
    operations = [op for op in ordered if any(p.operation == op for p in points)]
    styles = {op: _SERIES_STYLES[i % len(_SERIES_STYLES)] for i, op in enumerate(operations)}
    ceiling, step = _rate_axis(max(p.breach_rate or 0.0 for p in answered))

    def y(rate: float) -> float:
        return _PANEL_BOTTOM - rate / ceiling * (_PANEL_BOTTOM - _PANEL_TOP)

    series = "".join(
        _trend_series(
            [p for p in points if p.operation == op and p.period_start in weeks.starts],
            weeks.x,
            y,
            styles[op],
            _week_label,
        )
        for op in operations
    )
    every = math.ceil(len(weeks.starts) / _MAX_WEEK_LABELS)
    labels = "".join(
        f'<text x="{weeks.x(week):.1f}" y="{_PANEL_BOTTOM + 18}" text-anchor="middle" '
        f'class="tick">{week.month}月{week.day}日</text>'
        for i, week in enumerate(weeks.starts)
        if i % every == 0
    )
    middle_y = (_PANEL_TOP + _PANEL_BOTTOM) / 2
    middle_x = (_PANEL_LEFT + _PANEL_RIGHT) / 2
    titles = (
        f'<text x="-20" y="{middle_y:.1f}" text-anchor="middle" class="axis-title" '
        f'transform="rotate(-90 -20 {middle_y:.1f})">超期率</text>'
        f'<text x="{middle_x:.1f}" y="{_PANEL_BOTTOM + 38}" text-anchor="middle" '
        'class="axis-title">请求发出的周（自周一起）</text>'
    )
    legend = "".join(
        f'<span><svg width="22" height="14" aria-hidden="true"><line x1="1" y1="7" x2="21" '
        f'y2="7" stroke="{colour}" stroke-width="2"/>{_marker(shape, 11, 7, colour)}</svg>'
        f"{_e(operation_name(op))}</span>"
        for op, (colour, shape) in styles.items()
    )
    if ceiling > _BAD_RATE:
        legend += (
            '<span><svg width="22" height="14" aria-hidden="true"><line x1="1" y1="7" x2="21" '
            f'y2="7" stroke="{_DEADLINE}" stroke-width="1.2" stroke-dasharray="6 4"/></svg>'
            f"超期率{_BAD_RATE:.0%}参考线</span>"
        )
    name = pack.institution_name
    return (
        heading
        + f'<p class="legend">{legend}</p>'
        + f'<figure class="panel trend-figure"><figcaption>{_e(name)}</figcaption>'
        f'<svg class="chart trend" viewBox="-34 0 {_PANEL_W + 54} {_PANEL_H + 24}" '
        f'role="img" aria-label="{_e(f"{name}每周超期率")}">'
        f"<title>{_e(f'{name}每周超期率')}</title>"
        f"{_rate_grid(ceiling, step, y)}{labels}{titles}{series}</svg></figure></section>"
    )


def _delays(pack: EvidencePack) -> str:
    late = sorted(
        (r for r in pack.rows if r.late_hours is not None),
        key=lambda r: -(r.late_hours or 0.0),
    )
    heading = '<section class="block"><h3>六、超期明细</h3>'
    if not late:
        return heading + '<p class="empty good">统计期间没有超期的请求。</p></section>'
    shown_rows = late[:_TOP_DELAYS]
    rows = "".join(_delay_row(i, row) for i, row in enumerate(shown_rows, start=1))
    more = (
        f"超期最久的{len(shown_rows)}件，共{len(late)}件；"
        if len(late) > len(shown_rows)
        else f"共{len(late)}件，"
    )
    return (
        heading + f'<p class="lede">{_e(more)}按超期时长由长到短排列；'
        "全部请求的逐件明细见 annex.csv。未反馈的，超期时长计至统计时点。</p>"
        '<table class="evidence"><thead><tr><th scope="col">序号</th>'
        '<th scope="col" class="text">当事人</th><th scope="col" class="text">案号</th>'
        '<th scope="col" class="text">事项</th><th scope="col" class="text">发起时间</th>'
        '<th scope="col" class="text">应反馈时间</th>'
        '<th scope="col" class="text">反馈时间/结果</th><th scope="col">超期</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></section>"
    )


def _delay_row(number: int, row: AnnexRow) -> str:
    answered = shown(row.answered_at) if row.answered_at is not None else outcome_name(row)
    return (
        f'<tr><td>{number}</td><td class="text">{_e(row.party)}</td>'
        f'<td class="text case">{_e(row.case_number)}</td>'
        f'<td class="text">{_e(operation_name(row.operation))}</td>'
        f'<td class="text">{_e(shown(row.requested_at))}</td>'
        f'<td class="text">{_e(shown(row.due_at))}</td>'
        f'<td class="text">{_e(answered)}</td>'
        f'<td class="delay">{_e(_late(row.late_hours))}</td></tr>'
    )


def _definitions() -> str:
    return (
        '<p class="note">口径：请求数为统计期间发出的请求；反馈率＝已反馈÷请求数；'
        "及时反馈率＝期限内反馈÷请求数；用时为自请求发出至本院收到反馈的时间；"
        "逾期未反馈为统计时点已过期限仍无反馈的请求；请求失败为未获得反馈即告失败的请求，"
        "不计入超期。时间均为北京时间。当事人信息已作脱敏处理。</p>"
    )


# --- the files ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidenceFiles:
    """Where the pack was written."""

    letter: Path  # letter.html
    annex: Path  # annex.csv
    pdf: Path  # letter.pdf


def write_evidence_pack(
    pack: EvidencePack,
    directory: Path,
    *,
    chromium: str | None = None,
    timeout: float = 120.0,
) -> EvidenceFiles:
    """Write ``letter.html``, ``annex.csv`` (UTF-8 with BOM) and ``letter.pdf`` into
    ``directory``. The PDF comes last: when it cannot be printed, ``PrintError`` is raised
    and the other two are already written."""
    directory.mkdir(parents=True, exist_ok=True)
    files = EvidenceFiles(
        directory / "letter.html", directory / "annex.csv", directory / "letter.pdf"
    )
    files.letter.write_text(render_letter(pack), encoding="utf-8")
    files.annex.write_text(annex_csv(pack), encoding="utf-8-sig", newline="")
    print_pdf(files.letter, files.pdf, chromium=chromium, timeout=timeout)
    return files


# --- style ---------------------------------------------------------------------------

# The letter's stylesheet is package data (letter.css beside this module), inlined after the
# performance report's, whose chart and table styles the annex shares.
_LETTER_CSS = resources.files(__package__).joinpath("letter.css").read_text(encoding="utf-8")
