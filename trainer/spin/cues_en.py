"""English cue lexicon for the offline classifier (see trainer.spin.cues for the model)."""

from __future__ import annotations

import functools
import re

from trainer.spin.cues import LEADING, WEAK_IMPLICATION, Lexicon, build
from trainer.spin.labels import Label

S, P, IMP, N = Label.SITUATION, Label.PROBLEM, Label.IMPLICATION, Label.NEED_PAYOFF
PITCH, GREET, ROUTE, PERM = Label.PITCH, Label.GREETING, Label.ROUTING, Label.PERMISSION
MEET, CONF, OBJ, CLOSE, OTHER = (Label.MEETING_REQUEST, Label.CONFIRMATION, Label.OBJECTION_RESPONSE,
                                 Label.CLOSING, Label.OTHER)

_YOU = r"(?:you|your \w+|your team|the team|they|your people|the company)"

SPEC = [
    # Situation: facts about the buyer today, who decides and how purchases are approved.
    (S, 1.0, r"\bhow many\b"),
    (S, 0.8, r"\bhow much\b"),
    (S, 1.2, r"\bwhat (?:kind|type|sort|brand|make|model|version)s? of\b"),
    (S, 1.0, r"\bwhich\b"),
    (S, 1.2, rf"\b(?:do|does|did) {_YOU} (?:currently |still |now |also )?(?:use|run|have|own|lease|rent|work with|"
             r"buy|order|ship|employ|operate|store|keep|process|outsource|rely on|pay|hire|get|send|host|"
             r"insure|bank|plan|budget|track|measure|need|cover|serve|sell|produce|print|publish)\b"),
    (S, 0.8, r"\b(?:currently|right now|at the moment|these days|nowadays|at present)\b"),
    (S, 1.2, rf"\bhow (?:do|does) {_YOU} (?:currently |now |usually |normally )?(?:handle|manage|organi[sz]e|"
             r"process|run|do|track|buy|pick|choose|select|order|pay|store|approve|plan|schedule|"
             r"recruit|hire|onboard|train|clean|ship|deliver|invoice|report|book|source|insure|back up)\b"),
    (S, 1.6, r"\bwho (?:decides|signs|approves|makes the (?:final )?(?:decision|call)|is (?:in charge|responsible)|"
             r"handles|manages|owns|chooses|selects|picks|sets the budget|has the final say|else is involved|"
             r"is involved|would be involved|takes part)\b"),
    (S, 1.4, r"\b(?:decision|approval|budget|buying|procurement|purchasing|tender|sign[- ]off) (?:process|cycle)\b"),
    (S, 1.3, r"\bhow (?:is|are) .{0,40}(?:approved|decided|organi[sz]ed|set up|structured|budgeted|chosen|"
             r"selected|signed off|bought|purchased|handled|managed|staffed)\b"),
    (S, 1.2, r"\bhow long have (?:you|your)\b|\bsince when\b"),
    (S, 1.2, r"\bwhen (?:does|do|did|is|will) (?:your|the) (?:\w+ )?(?:contract|budget|licen[cs]e|lease|fiscal|"
             r"renewal|policy|agreement)\b"),
    (S, 1.2, r"\bhow often do you (?:order|buy|ship|replace|renew|update|hire|clean|send|run|publish|audit|"
             r"review|service|restock|back up|meet|travel|reorder|pay)\b"),
    (S, 1.1, r"\btell me (?:about|how|what|more about)\b|\bwalk me through\b|\bdescribe\b|\bcould you explain how\b"),
    (S, 1.3, r"\bwho (?:is|are) your (?:current |main )?(?:supplier|provider|vendor|carrier|insurer|bank|agency|"
             r"partner|contractor|integrator|reseller)s?\b"),
    (S, 0.8, r"\bwhere (?:do|does|is|are)\b"),
    (S, 0.9, r"\bhow (?:big|large)\b|\bheadcount\b|\bvolume\b|\bhow old\b"),
    (S, 1.1, r"\bwhat (?:do|does) (?:you|your \w+) (?:use|run|have)\b|\bwhat (?:is|are) your (?:current )?\w+"),
    (S, 1.0, r"\bis (?:it|that|this) (?:done|handled|managed|bought|decided) (?:in-house|centrally|locally|by)\b"),
    # Problem: difficulties, dissatisfaction, reliability, satisfaction (also as a number).
    (P, 1.8, r"\bproblems?\b|\bissues?\b|\btroubles?\b|\bdifficult(?:y|ies)?\b|\bchalleng(?:e|es|ing)\b|"
             r"\bstruggl\w*|\bheadaches?\b|\bpain points?\b"),
    (P, 1.8, r"\b(?:satisfied|happy|pleased|content|comfortable) with\b|\bsatisf(?:ied|action)\b"),
    (P, 1.8, r"\bdissatisf\w*|\bunhappy\b|\bfrustrat\w*|\bannoy\w*|\bcomplain\w*|\bconcerns?\b|\bworr(?:y|ied|ies)\b"),
    (P, 1.6, r"\b(?:break|breaks|broke|broken|breaking) down\b|\bbreakdowns?\b|\bfail(?:s|ed|ures?)?\b|"
             r"\bcrash\w*|\bdowntime\b|\boutages?\b|\bgo(?:es)? down\b|\bjam(?:s|med)?\b|\bstall\w*|\bfreez\w*|"
             r"\bdrop(?:s|ped)? (?:out|calls)\b|\bglitch\w*|\bbugs?\b"),
    (P, 1.6, r"\bdelay(?:s|ed)?\b|\blate\b|\bbehind schedule\b|\bmiss(?:es|ed)? (?:deadlines?|targets?|the)\b|"
             r"\bbacklogs?\b|\bbottlenecks?\b|\bwait(?:ing)? too long\b|\bqueues?\b"),
    (P, 1.4, r"\bdamaged?\b|\blost\b|\berrors?\b|\bmistakes?\b|\bdefect\w*|\bfaulty\b|\bchurn\b|\bturnover\b|"
             r"\bleaks?\b|\bwaste\w*|\bfraud\w*|\bslow\w*|\boutdated\b|\bunreliable\b|\btoo expensive\b|"
             r"\bcost too much\b|\bquit\b|\bleav(?:e|es|ing) (?:the company|after)\b|\bspoil\w*|\bexpired (?:stock|goods|products|food)\b|"
             r"\bshortages?\b|\bout of stock\b|\bno-shows?\b|\bdisputes?\b|\bclaims? (?:get|are) (?:rejected|denied)\b|"
             r"\brejected\b|\bcomplicated\b|\bcumbersome\b|\bconfusing\b|\bunderstaffed\b|\boverloaded\b"),
    (P, 1.9, r"\bwhat (?:would|could) (?:you|your \w+) (?:like to )?(?:improve|change|fix)\b|"
             r"\banything (?:you(?:'d| would)|that you would) (?:change|improve)\b|\bcould be better\b|"
             r"\bwhat(?:'s| is) missing\b|\bfall short\b|\broom for improvement\b|\bwish (?:it|they|you) could\b|"
             r"\bnot (?:working|good enough)\b|\bless than (?:ideal|perfect)\b"),
    (P, 1.5, r"\bhow (?:reliable|stable|accurate|fast|quick|easy|smooth|well)\b|\bhow (?:do|did) you rate\b"),
    (P, 1.7, r"\bhow (?:happy|satisfied|pleased|content|hard|difficult)\b|\bgood enough\b|\bunexpected\w*|\bdrop(?:s|ped)?\b|\bstop(?:s|ped|page|pages)?\b(?! by)"),
    (P, 1.7, r"\bhard to\b|\bdifficult to\b|\btough\b|\bweak (?:spot|point)s?\b|\bdownsides?\b|\bgaps?\b|"
             r"\blimitations?\b|\bshortcomings?\b|\bdrawbacks?\b|\bwhat goes wrong\b|\bgo(?:es)? wrong\b"),
    (P, 2.0, r"\bwhat (?:bothers|annoys|worries|frustrates|irritates)\b|\bkeeps you up at night\b"),
    # Implication: consequences, costs, knock-on effects of a problem already on the table.
    (IMP, 2.2, r"\bwhat happens (?:when|if|to|then|after)\b|\bwhat then\b", WEAK_IMPLICATION),
    (IMP, 2.1, r"\bwhat do (?:you|they) do (?:when|if)\b|\bhow do (?:you|they) (?:cope|deal|manage) (?:with|when)\b",
     WEAK_IMPLICATION),
    (IMP, 2.5, r"\b(?:affect|affects|affected|affecting|effect|impact|impacts|impacted|influence|influences)\b|"
             r"\beffects? (?:on|of)\b"),
    (IMP, 2.5, r"\bconsequences?\b|\bknock-on\b|\bripple\b|\bresult in\b|\bas a result\b|\blead(?:s)? to\b|"
             r"\bled to\b|\bend up\b|\bspill over\b|\bdownstream\b"),
    (IMP, 2.6, r"\bcosts? (?:you|your|the business|the company)\b|\bhow much (?:does|do|did|would|will) .{0,50}cost\b|"
             r"\bwhat (?:does|do|did) .{0,50}cost\b|\bprice of (?:that|this|each|every)\b"),
    (IMP, 2.5, r"\bhow much (?:time|money|revenue|business|margin|output) (?:do|does|did|are|is) .{0,25}"
             r"(?:lose|lost|losing|waste|wasted|spend|spent)\b|\blos(?:e|es|ing|t) (?:you )?(?:time|money|"
             r"revenue|clients|customers|deals|sales|business|orders|hours|days|contracts|subscribers|staff)\b"),
    (IMP, 2.4, r"\bwhat (?:does|did|do) .{0,40}\bmean (?:for|to)\b|\bwhat (?:does|did|do) (?:that|this|it|these|those|the \w+(?: \w+)?) do to\b|\bhow (?:does|do|did) .{0,50}\b(?:hit|hurt|play out|show up|spill over)\b|\bslow(?:s|ed)? (?:you|them|us|the \w+) down\b"),
    (IMP, 2.2, r"\b(?:extra|additional|hidden) (?:cost|costs|work|hours|overtime|shifts|trips|staff|calls)\b"),
    (IMP, 2.2, r"\bwho (?:has to|must|ends up|then has to)\b"),
    (IMP, 2.1, r"\bpenalt\w*|\bfines?\b|\bovertime\b|\bangry (?:customers|clients)\b|\breputation\b|\bmorale\b"),
    (IMP, 2.3, r"\bhow (?:do|does|did) (?:your |the )?(?:customers|clients|team|staff|management|boss|board|"
             r"drivers|patients|guests|readers|subscribers|auditors|regulators?) (?:react|feel|respond|take it)\b"),
    (IMP, 2.0, r"\bcould (?:that|this|it) (?:cause|put|risk|hurt|damage)\b|\brisks?\b|\bjeopardi[sz]\w*"),
    (IMP, 2.2, r"\bwhat else (?:does|did|do|is|gets?)\b|\bhow (?:serious|big a deal)\b|\bhow bad\b|"
             r"\bhow much (?:of a|harder|longer|more)\b"),
    # Need-payoff: the buyer is asked to state the value of solving it.
    (N, 2.7, r"\bwould (?:it|that|this) (?:really )?(?:help|be useful|be helpful|be valuable|make (?:a|any) "
             r"difference|be worth|make (?:your|their|life|things)|free up|ease)\b|\bwould it help\b"),
    (N, 2.8, r"\bhow (?:would|could|might) (?:that|this|it|such a \w+) help\b|\bhow (?:would|could|might) "
             r"(?:you|your \w+|the team|they) benefit\b|\bhow (?:would|could) .{0,40}help (?:you|your)\b"),
    (N, 2.8, r"\bwhy (?:is|would|does) (?:it|that|this) (?:be |feel )?(?:so )?(?:important|matter)\b|"
             r"\bhow important (?:is|would|will)\b|\bwhy (?:does|would) (?:it|that|this) matter\b|"
             r"\bwhy (?:is|would) (?:fixing|solving|getting|having|cutting|reducing) .{0,40}important\b"),
    (N, 2.8, r"\bwhat would (?!you like)(?!you change).{0,50}\b(?:mean|give|bring|be worth)\b|"
             r"\bwhat would (?:it|that|this) (?:do|change)\b|\bwhy (?:is|are|would|does|do) .{0,50}\b(?:important|matter)\b|"
             r"\bhow (?:would|could|might) .{0,50}\bhelp\b|"
             r"\bwhat would (?:you|your \w+) (?:gain|get out of|do with)\b"),
    (N, 2.5, r"\bwhat (?:would|could) .{0,40}(?:save|gain|free up)\b|\bhow much would (?:it|that|you) (?:save|be worth)\b"),
    (N, 1.6, r"\bif (?:you|your \w+) (?:could|had|were able to|didn't have to|no longer had to)\b"),
    (N, 1.5, r"\b(?:useful|valuable|helpful|benefits?|worthwhile|advantage to you)\b"),
    (N, 2.6, r"\bwhat (?:benefit|value|difference)s?\b|\bwho else would (?:benefit|gain|be glad)\b|"
             r"\bwhat would (?:an?|the|your) (?:ideal|perfect|better) .{0,30}look like\b|"
             r"\bhow (?:much )?(?:easier|better|faster|calmer|simpler) would\b"),
    # Pitch: features, advantages, offers, company presentation, leading questions.
    (PITCH, 3.3, r"\b(?:wouldn't|won't|doesn't|don't|isn't|aren't|can't|couldn't) (?:our|my|the new|a new) \w+",
     LEADING),
    (PITCH, 3.1, r"\b(?:wouldn't|don't|won't) you (?:like|want|agree|love|prefer)\b|\bwouldn't (?:it|that) be "
                 r"(?:great|nice|better|good|easier|smart)\b|\bisn't it time\b|\bwhy not (?:switch|try|move|give)\b|"
                 r"\bwhat if i (?:told|showed)\b|\bdon't you think\b|\bsurely you\b", LEADING),
    (PITCH, 2.4, r"\b(?:would|are) you (?:be )?interested in (?:our|buying|trying|switching|a new|the new|"
                 r"getting|upgrading)\b|\b(?:want|like) to (?:buy|order|try|switch|upgrade)\b", LEADING),
    (PITCH, 1.9, r"\b(?:our|my) (?:company|product|solution|platform|service|system|software|tool|app|team|offer|"
                 r"machines?|equipment|scanners?|units?|model|technology|approach|package|plan|policy|fleet|"
                 r"trucks|agency|experts|specialists|cleaners|crew|clients|customers|module|robots?|sensors?|"
                 r"tariff|rate|network|course|program(?:me)?|firm|brand|line|range|bank|card|insurance|office|experts)\b|"
                 r"\bour \w+ (?:is|are|gives|has|have|can|will|offers?|comes?|works?|runs?|uses?)\b"),
    (PITCH, 2.1, r"\bwe (?:offer|provide|sell|supply|make|produce|manufacture|deliver|specialise|specialize|"
                 r"install|develop|build|help|work with|have (?:a|an|the) (?:new|unique|special))\b|"
                 r"\bwe(?:'re| are) (?:the|a|an) (?:leading|largest|biggest|top|market|major|certified|official)\b"),
    (PITCH, 2.2, r"\bwe (?:can|could|will) (?:save|cut|reduce|help|increase|double|guarantee|give|offer|provide|"
                 r"install|set up|deliver|take over|handle|lower|speed)\b"),
    (PITCH, 1.6, r"\b(?:saves?|cuts?|reduces?|boosts?|increases?|guarantees?|halves|doubles) (?:you|your|up to|"
                 r"by|costs|downtime|time)\b|\bup to \d+|\bby \d+ ?(?:%|percent)\b"),
    (PITCH, 2.0, r"\b(?:special|exclusive|limited|introductory) (?:offer|price|discount|deal|rate)\b|"
                 r"\bdiscounts?\b|\bfree (?:trial|transfers|delivery|installation|shipping|of charge)\b|\bfor free\b|\bno extra charge\b"),
    # Routing: being put through, extensions, who is in, who one is speaking with.
    (ROUTE, 3.0, r"\bput me through\b|\bconnect me\b|\btransfer me\b|\bswitch me\b|\bput me in touch\b"),
    (ROUTE, 2.8, r"\bextension\b|\bdirect (?:line|number|dial)\b"),
    (ROUTE, 3.0, r"\b(?:can|could|may) i (?:please )?(?:speak|talk) (?:to|with)\b|\bi(?:'d| would) like to (?:speak|"
                 r"talk) (?:to|with)\b|\bi(?:'m| am) (?:trying to reach|looking for)\b"),
    (ROUTE, 3.0, r"\bwho (?:am i|i am) (?:speaking|talking) (?:to|with)\b|\bwho(?:'s| is) (?:this|speaking|on the "
                 r"line)\b|\bwhat(?:'s| is) your name\b|\bmay i (?:know|have|ask) your name\b"),
    (ROUTE, 2.8, r"\bis (?:he|she) (?:in|there|available|around|back|free|in the office)\b|\bis (?:mr|mrs|ms|dr)\b|"
                 r"\bwhen (?:will|would|does) (?:he|she|they|mr \w+|ms \w+) (?:be )?(?:back|in|available|free|return)\b|"
                 r"\bwhen is (?:the best|a good) time to (?:reach|catch|call)\b|\bis (?:\w+ )?(?:available|in today)\b"),
    (ROUTE, 2.8, r"\bwho (?:should|could|can|do|would) i (?:speak|talk|turn|reach out|write|send \w+|address)\b|"
                 r"\bright person\b|\bperson (?:responsible|in charge) (?:for|of)\b.{0,30}\b(?:speak|talk|reach|"
                 r"connect|contact)\b|\bwho (?:would|is) (?:be )?the (?:right|best) (?:person|contact)\b"),
    (ROUTE, 2.4, r"\bhow (?:can|could|do|might) i (?:reach|contact|get hold of|get through to)\b|\bleave a message\b|"
                 r"\bget hold of\b|\bpass (?:this|a message|it|my number) (?:on|to)\b|\bhis (?:email|number)\b|\bher (?:email|number)\b"),
    # Permission: time to talk, leave to ask.
    (PERM, 3.2, r"\b(?:do|would) you have (?:a|two|2|a few|a couple of|five|5|one|a spare|three|3) (?:quick |short )?"
                r"(?:minute|minutes|moment|moments|sec|second|seconds|min)\b|\bgot a (?:minute|moment|sec|second)\b"),
    (PERM, 3.2, r"\bis (?:this|now|it) (?:a )?(?:good|bad|convenient|ok|okay) (?:time|moment)?\b.{0,15}"
                r"(?:talk|speak|call)?|\b(?:are you|is it) (?:ok|okay|convenient|fine|free) to (?:talk|speak)\b|"
                r"\bcan you (?:talk|speak) (?:now|right now)\b|\bcan we talk\b"),
    (PERM, 3.2, r"\b(?:can|could|may) i ask (?:you )?(?:a|some|a few|a couple of|several|two|three|one or two|\d+) "
                r"(?:quick |short |brief |more )?questions?\b|\b(?:can|could|may) i (?:take|have|borrow) "
                r"(?:a|two|2|a few|three|3) (?:minute|minutes|moment)"),
    (PERM, 2.8, r"\bmind if i ask\b|\bwould it be (?:ok|okay|alright|all right) if i\b|\bis it ok if i ask\b"),
    # Meeting request: meeting, call, time, where to send a proposal.
    (MEET, 2.4, r"\b(?:meet|meeting|meet up|in person|visit|drop by|come by|come over|stop by)\b"),
    (MEET, 1.3, r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|next week|"
                r"later this week|next month)\b"),
    (MEET, 2.3, r"\bat \d{1,2}(?::\d\d)?\s?(?:am|pm|a\.m|p\.m|o'clock)\b|\b\d{1,2}:\d\d\b|\bat (?:noon|ten|eleven|"
                r"two|three|four|nine)\b"),
    (MEET, 2.4, r"\b(?:demo|demonstration|call back|follow-up call|follow up call|schedule|book (?:a|some) time|"
                r"set up a (?:call|time)|calendar invite|slot|zoom|teams call|video call|short call)\b"),
    (MEET, 2.6, r"\bwhere (?:can|should|could|do|shall) i send\b|\b(?:email|address) (?:to|where) (?:i )?"
                r"(?:send|should)\b|\bsend (?:you )?(?:a|our|the) (?:proposal|quote|offer|brochure|price list|"
                r"contract|details|estimate|calculation)\b|\bwhat(?:'s| is) (?:the best|your) email\b"),
    (MEET, 2.8, r"\bwhen (?:would|are|is|will) (?:you|it|your \w+) (?:be )?(?:free|available|convenient)\b|"
                r"\bwhat time (?:works|suits|is good|would)\b|\b(?:suit|work for|works for) you\b|"
                r"\bwhen (?:can|could|shall) we (?:meet|talk|speak)\b|\bnext steps?\b"),
    # Confirmation: checking back what the buyer said.
    (CONF, 3.2, r"^(?:so|ok so|okay so|right so|and so|then),? (?:you|your|the|there|it|that|it's|you're|you've|"
                r"we|they|\w+ of)\b.*\b(?:right|correct|is that right|is that correct|yes|yeah|true|isn't it|"
                r"don't you|do you|aren't you|did i get that right)\s*\??$"),
    (CONF, 3.2, r"\bif i (?:understand|understood|heard|got) (?:you |that |this |it )?(?:correctly|right)\b|"
                r"\bif i(?:'m| am) hearing you (?:correctly|right)\b|\bdid i (?:get|understand) (?:that|it|this|you) "
                r"(?:right|correctly)\b|\bam i right\b"),
    (CONF, 3.0, r"\b(?:let me|let's|just to) (?:check|confirm|make sure|recap|sum up|summari[sz]e|double-check)\b|"
                r"\bto (?:sum up|recap|summari[sz]e)\b|\bin other words\b|\bso what you(?:'re| are) saying\b"),
    (CONF, 2.2, r"\byou (?:said|mentioned|told me)\b"),
    (CONF, 2.0, r",\s*(?:right|correct|is that right|is that correct|yes|true)\s*\??$"),
    # Objection response: answering a brush-off or an objection.
    (OBJ, 2.0, r"\bi (?:completely |totally |fully |really )?(?:understand|hear you|get it|see your point|appreciate "
               r"(?:that|it))\b|\bthat(?:'s| is) (?:understandable|fair|a fair point)\b|\bfair enough\b|"
               r"\bof course\b|\bi see why\b"),
    (OBJ, 2.8, r"\bmany (?:of our )?(?:clients|customers|companies|people|managers)(?: also)? (?:said|say|told|felt|"
               r"thought)\b|\bothers (?:felt|said) the same\b"),
    (OBJ, 2.4, r"\bthat(?:'s| is) (?:exactly|precisely) why\b|\bprecisely because\b|\bthat(?:'s| is) why i(?:'m| am) "
               r"calling\b"),
    (OBJ, 2.6, r"\bi(?:'m| am) not (?:asking|trying|suggesting|calling to sell|proposing)\b|\bno obligation\b|"
               r"\bnot (?:trying|here) to sell\b|\bnot (?:asking|suggesting) (?:you )?to (?:change|switch|drop|"
               r"replace)\b|\bwithout any obligation\b"),
    (OBJ, 2.0, r"\b(?:rather than|instead of) (?:replacing|switching|changing)\b|\bpays? (?:for )?itself\b|"
               r"\bas a (?:backup|second supplier)\b|\bin addition to your\b"),
    # Closing: wrapping up.
    (CLOSE, 2.8, r"\bthank(?:s| you) (?:so much |very much |again )?for (?:your|the) (?:time|call|chat|help|"
                 r"conversation|answers)\b"),
    (CLOSE, 3.0, r"\b(?:goodbye|good bye|bye|have a (?:nice|good|great|lovely) (?:day|evening|weekend|week)|"
                 r"talk (?:to you )?soon|see you (?:then|soon))\b"),
    (CLOSE, 3.0, r"\blook(?:ing)? forward to\b|\bi(?:'ll| will) (?:send|email) (?:you )?(?:the|a|an|our|that)\b.{0,40}"
                 r"(?:today|tonight|shortly|right away|after (?:the|this) call|within the hour)\b"),
    # Greeting: hello and introductions.
    (GREET, 1.8, r"^(?:hello|hi|hey|good (?:morning|afternoon|evening|day)|greetings)\b"),
    (GREET, 1.8, r"\bmy name is\b|\bthis is \w+(?: \w+)? (?:from|at|with)\b|\bi(?:'m| am) \w+(?: \w+)? (?:from|at|with)"
                 r"\b|\bcalling (?:you )?(?:from|on behalf of)\b"),
    (GREET, 2.2, r"\bhow are you\b|\bhow(?:'s| is) (?:your|the) (?:day|week|morning) going\b|\bnice to (?:meet|hear)\b"),
    # Other: fillers, line checks.
    (OTHER, 2.0, r"^(?:ok|okay|i see|got it|sure|yes|yeah|no|uh-huh|hmm|mm|right|great|good|fine|alright|understood|"
                 r"interesting|wow|cool|aha|ah|oh)\W*$|\bweather\b|\btraffic\b|\bholiday\b|\bvacation\b"),
    (OTHER, 2.6, r"\bcan you hear me\b|\b(?:sorry|pardon)\b.{0,10}(?:what|repeat|come again)|\bcould you (?:repeat|"
                 r"say that again)\b|\bbad (?:line|connection)\b|\byou(?:'re| are) breaking up\b"),
]

_QUESTION_START = (
    r"^(?:(?:and|but|so|also|then|well|ok|okay|now|and then|tell me|just curious|roughly|approximately|"
    r"and roughly|by the way),? )*"
    r"(?:what|how|which|who|whom|whose|where|when|why|do|does|did|is|are|was|were|can|could|would|will|"
    r"should|have|has|had|may|might|shall|isn't|aren't|don't|doesn't|didn't|wouldn't|won't|can't|couldn't|"
    r"tell me|walk me|describe|any|anything|roughly how|approximately how)\b"
)
_PROBLEM_TALK = (
    r"\bproblems?\b|\bissues?\b|\btrouble\b|\bdifficult|\bstruggl|\bheadache|\bnot (?:happy|satisfied|great|ideal)\b|"
    r"\bunhappy\b|\bfrustrat|\bcomplain|\bbreak(?:s)? down\b|\bbroke\b|\bbreakdowns?\b|\bfail|\bdowntime\b|"
    r"\bdelay|\blate\b|\bdamaged?\b|\blost\b|\berrors?\b|\bmistakes?\b|\bslow\b|\bexpensive\b|\bwe lose\b|"
    r"\bleav(?:e|ing)\b|\bquit\b|\bcrash|\bout of stock\b|\bturnover\b|\btakes forever\b|\bpain\b|\bannoying\b|"
    r"\bwaste\b|\bcould be better\b|\bnot always\b|\bsometimes\b|\boften\b|\blet (?:us|me) down\b|\bmess\b|"
    r"\bcan(?:'t|not) (?:cope|keep up|reach|tell|log in|find)\b|\bkeeps? (?:breaking|stopping|failing|crashing)\b|"
    r"\bjammed\b|\bfreez|\bheavy going\b|\bimpossible\b|\bgo(?:es)? (?:missing|wrong)\b|\bwrong\b|\bshort\b|"
    r"\bdon't stay\b|\bslipped\b"
)
_OBJECTION_TALK = (
    r"\bnot interested\b|\bno time\b|\bbusy\b|\balready (?:have|work with|use)\b|\bsend (?:it|me|us|something) "
    r"(?:by|to|over|an)\b|\bemail me\b|\btoo expensive\b|\bno budget\b|\bdon't need\b|\bdo not need\b|"
    r"\bnot (?:my|the) (?:decision|call)\b|\bi don't decide\b|\bwhat is this about\b|\bwhat(?:'s| is) it regarding\b|"
    r"\bhappy with (?:our|the current)\b|\bcall (?:back )?later\b|\bnot now\b"
)

REASONS = {
    "situation": "asks for facts about the buyer's current set-up",
    "situation_default": "a question with no difficulty, consequence or value cue counts as fact-finding",
    "problem": "asks about a difficulty or dissatisfaction",
    "problem_from_weak": "asks what happens when something goes wrong, but no problem is on the table yet, "
                         "so it surfaces a problem",
    "implication": "asks about consequences of a problem already raised",
    "implication_no_context": "asks about consequences, though no problem has been raised yet",
    "need_payoff": "asks the buyer to state the value of solving it",
    "pitch": "presents the offer or pushes the buyer toward it",
    "pitch_leading": "a leading question that is really a pitch",
    "pitch_turn": "a pitch statement followed by a leading question stays a pitch",
    "greeting": "greets or introduces the caller",
    "routing": "asks to reach the right person",
    "permission": "asks for permission to talk or to ask questions",
    "meeting_request": "proposes a meeting, a call, a time or where to send a proposal",
    "confirmation": "checks back what the buyer said",
    "objection_response": "answers the buyer's objection",
    "closing": "wraps up the call",
    "other": "no sales act recognised",
    "learned": "learned from the labelled corpus",
    "statement_other": "a statement with no sales cue",
    "empty": "no words to label",
    "main_of": "main act of {n} segments",
}


@functools.cache
def lexicon() -> Lexicon:
    """The compiled English lexicon, built on first use."""
    return Lexicon(
        cues=build(SPEC),  # type: ignore[arg-type]
        question_start=re.compile(_QUESTION_START),
        problem_talk=re.compile(_PROBLEM_TALK),
        objection_talk=re.compile(_OBJECTION_TALK),
        reasons=REASONS,
    )
