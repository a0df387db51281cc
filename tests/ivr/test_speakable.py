"""Prompt text as a Mandarin speaker reads it: numbers, dates and times, then pinyin for espeak-ng."""

import pytest

from ivr.speakable import cardinal, pinyin, spoken


@pytest.mark.parametrize(
    ("n", "words"),
    [(0, "零"), (7, "七"), (10, "十"), (15, "十五"), (20, "二十"), (31, "三十一"), (100, "一百"),
     (205, "二百零五"), (1010, "一千零一十"), (10000, "一万"), (12005, "一万二千零五")],
)
def test_cardinals(n, words):
    assert cardinal(n) == words


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("欢迎致电12345热线", "欢迎致电幺二三四五热线"),  # a service number, digit by digit, 1 as 幺
        ("请拨打110、119、120、122", "请拨打幺幺零、幺幺九、幺二零、幺二二"),
        ("人工服务请按0，重听请按1", "人工服务请按零，重听请按一"),  # menu keys are plain digits
        ("您的工单20261203-000042已办结", "您的工单二零二六幺二零三零零零零四二已办结"),
        ("办理时限为2026年12月31日", "办理时限为二零二六年十二月三十一日"),
        ("截止2026-01-05", "截止二零二六年一月五日"),
        ("每天8点至20点", "每天八点至二十点"),
        ("08:30-17:00", "八点三十分至十七点"),
        ("1个工作日、2个工作日、15个工作日", "一个工作日、两个工作日、十五个工作日"),
        ("7x24小时", "七乘二十四小时"),
        ("来电13800138000", "来电幺三八零零幺三八零零零"),
    ],
)
def test_numbers_are_read_the_chinese_way(text, said):
    assert spoken(text) == said


def test_pinyin_has_tone_numbers_sandhi_and_pauses():
    assert pinyin("你好，一个不是。") == "ni2 hao3, yi2 ge4 bu2 shi4."
    assert pinyin("请按1") == "qing3 an4 yi1"
    # nothing but syllables and pauses reaches the voice: Latin letters would be spelled otherwise
    assert pinyin("APP下载") == "xia4 zai4"


def test_the_cli_voice_is_the_engine_voice():
    from ivr import prompts, prompts_cli

    assert prompts_cli.VOICE == prompts.VOICE
