"""The one line `hub simulator call` prints for the hub's TwiML answer, for each kind of answer."""

from hub.channels.calls import voice
from hub.simulator.twiml_summary import summarize_twiml

URLS = voice.VoiceUrls("http://hub.example", 7)
NAMES = {"+8613900000001": "Wang Fang", "client:li": "Li Lei"}


def test_ringing_one_agent_names_them():
    xml = voice.ring_agents_twiml(URLS, ["+8613900000001"], "+8613800138000")
    assert summarize_twiml(xml, NAMES) == "ringing agent Wang Fang (+8613900000001)"


def test_ringing_several_agents_names_each_a_browser_one_by_identity():
    xml = voice.ring_agents_twiml(URLS, ["+8613900000001", "client:li"], "")
    assert summarize_twiml(xml, NAMES) == (
        "ringing agents Wang Fang (+8613900000001), Li Lei (client:li)"
    )


def test_a_number_that_is_no_agents_is_shown_as_it_is():
    xml = voice.bridge_twiml(URLS, "+8613800138000", "+12025550143")
    assert summarize_twiml(xml, NAMES) == "ringing +8613800138000"


def test_voicemail_message_and_hangup_and_a_queue():
    assert summarize_twiml(voice.voicemail_twiml(URLS, "Sorry")) == (
        "played a message and took a voicemail"
    )
    assert summarize_twiml(voice.say_twiml("Goodbye")) == "played a message and hung up"
    assert summarize_twiml(voice.hangup_twiml()) == "hung up"
    enqueue = '<?xml version="1.0"?><Response><Enqueue>support</Enqueue></Response>'
    assert summarize_twiml(enqueue) == "queued for the next free agent"
    assert summarize_twiml("not xml") == "answered with something that is not TwiML"
