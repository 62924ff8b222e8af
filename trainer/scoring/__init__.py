"""Pure scoring: the rubric model, the facts read from a labelled call, the criteria, tips and the scorecard.

Entry points: `rubric.load_rubric`, `scorer.score_call`, `transcript.parse_transcript` + `label_turns`.
"""
