"""Goals of the demo's English learner support program: English language development
plans, scored against the state's proficiency levels (ELPAC).
"""

from __future__ import annotations

from goalpath.demo.plans import make_plan

ELD_SPEAKING = make_plan(
    "English language development",
    "Will participate in academic discussions using complete sentences and content "
    "vocabulary at {target} on the speaking rubric",
    (
        "level 3 (developing)",
        "level 3 on 3 of 4 tasks",
        "level 3.5",
        "level 4 (expanding)",
        "level 4 on 3 of 4 tasks",
    ),
    "ELPAC speaking: level 2 (somewhat developed). Measured with a monthly speaking task "
    "in science or social studies, scored on the program's rubric.",
    (
        (
            "Will use sentence frames to agree, disagree and add on in discussion",
            (
                "Used sentence frames to agree or add on {hits} times in the science discussion.",
                'Said "I disagree because..." with a partner, then with the group.',
                "Used the frames only with a partner today; quiet in the whole-class part.",
            ),
        ),
        (
            "Will use three content words from the unit when speaking",
            (
                "Used {hits} of {trials} unit words (habitat, predator, adapt) when explaining "
                "the diagram.",
                'Explained the water cycle using "evaporate" and "condense" correctly.',
                "Needed the word wall for two of the three content words.",
            ),
        ),
    ),
    (
        "Speaking task ({month}): rubric level {score}; complete sentences in {hits} of "
        "{trials} turns.",
        "Partner talk in social studies: {exchanges} exchanges, used the content words.",
        "Presented the group's findings in two complete sentences with the frame.",
        "Academic discussion: contributed {hits} times; one contribution without a frame.",
    ),
    "speaking in class discussions in English",
    "At home, talking about the school day in any of the family's languages helps; "
    "strong home language skills support English.",
)

ELD_READING = make_plan(
    "English language development",
    "Will answer literal and inferential questions about a grade-level text read with "
    "support, with {target}",
    (
        "60% accuracy",
        "70% accuracy",
        "75% accuracy",
        "80% accuracy",
        "80% accuracy on 3 consecutive tasks",
    ),
    "ELPAC reading: level 2. Measured every two weeks with a short text and 5-10 "
    "questions, with a glossary and the text read aloud once.",
    (
        (
            "Will preview key vocabulary before reading",
            (
                "Previewed {hits} of {trials} key words with pictures and cognates before reading.",
                'Found two cognates in the text ("importante", "animal") without a prompt.',
                "Used the glossary for unknown words; wrote the meaning of three.",
            ),
        ),
        (
            "Will find the sentence in the text that answers a question",
            (
                "Found the answering sentence for {hits} of {trials} literal questions.",
                "Underlined evidence for each answer; one inference question still difficult.",
                "Matched questions to paragraphs with the paragraph numbers.",
            ),
        ),
    ),
    (
        "Reading check ({month}): {hits} of {trials} questions correct ({pct}%).",
        "Small-group reading: answered {hits}/{trials} questions; inferences need a model.",
        "Read the article with a partner and answered {pct}% of questions.",
        "Question set on the science text: literal questions all correct, {misses} "
        "inference errors.",
    ),
    "understanding what the student reads in English",
    "At home, reading together in the family's language and talking about the story helps.",
)

ELD_WRITING = make_plan(
    "English language development",
    "Will write {target} about a content topic using past-tense verbs and linking words",
    (
        "four connected sentences",
        "five connected sentences",
        "a paragraph of five sentences",
        "a paragraph of six sentences",
        "two short paragraphs",
    ),
    "ELPAC writing: level 2. Measured with a monthly writing sample on the current science "
    "or social-studies unit, scored with the program's checklist.",
    (
        (
            "Will use past-tense verbs correctly in a retell",
            (
                "Used past-tense verbs correctly in {hits} of {trials} sentences of the retell.",
                'Corrected "goed" to "went" when re-reading the draft.',
                "Irregular verbs still mixed; practised six with the verb chart.",
            ),
        ),
        (
            "Will connect ideas with first, next, then and because",
            (
                "Used {hits} linking words in the paragraph about the experiment.",
                'Connected two ideas with "because" without a prompt.',
                'Used "first" and "then"; needed the word bank for "finally".',
            ),
        ),
    ),
    (
        "Writing sample ({month}): {sentences} sentences, {hits} of {trials} verbs in the "
        "correct tense.",
        "Wrote about the field trip: {words} words, linking words used twice.",
        "Paragraph on the unit topic with the word bank: {sentences} sentences, clear order.",
        "Journal entry written independently; spelling supported by the picture dictionary.",
    ),
    "writing in English",
    "At home, encouraging the student to write lists, messages or a diary in any language helps.",
)

ELD_LISTENING = make_plan(
    "English language development",
    "Will follow multi-step oral directions in class with {target}",
    (
        "2 steps and one visual cue",
        "3 steps and one visual cue",
        "3 steps and no visual cue",
        "3 steps on 4 of 5 opportunities",
        "4 steps",
    ),
    "ELPAC listening: level 2. Observed in the general-education classroom twice a week by "
    "the EL teacher.",
    (
        (
            "Will restate directions to a partner before starting",
            (
                "Restated {hits} of {trials} directions to a partner before starting the lab.",
                "Repeated the steps in English with a gesture for each.",
                "Restated the first two steps; asked the partner for the third.",
            ),
        ),
        (
            "Will ask for clarification with a question frame",
            (
                'Asked "Can you say that again?" when the directions were unclear.',
                "Used a clarification frame {hits} times during the math lesson.",
                "Waited for a model instead of asking; reminded of the frame card.",
            ),
        ),
    ),
    (
        "Observed in science: followed {hits} of {trials} multi-step directions.",
        "Followed the three-step direction for the lab set-up without a visual cue.",
        "Listening task ({month}): answered {hits} of {trials} questions about a short talk.",
        "Needed the picture cue for the last step; first two steps independent.",
    ),
    "following spoken directions in English",
    "At home, giving directions in two or three steps and letting the student repeat them helps.",
)

MATH_LANGUAGE = make_plan(
    "Math",
    "Will explain the steps used to solve a math problem using math vocabulary and a "
    "sentence frame on {target}",
    (
        "3 of 5 problems",
        "4 of 5 problems",
        "4 of 5 problems across two units",
        "80% of problems",
        "5 of 5 problems",
    ),
    "Baseline: solves problems but explains only with gestures or single words. Measured "
    "with a weekly explain-your-thinking task in math class.",
    (
        (
            "Will use the unit's math words (sum, difference, product) correctly",
            (
                "Used {hits} of {trials} math words correctly in the explanation.",
                "Matched the math words to symbols on the word wall; all correct.",
                'Confused "sum" and "product" once; self-corrected.',
            ),
        ),
        (
            "Will write the explanation with the first, next, last frame",
            (
                "Wrote a three-step explanation with the frame for {hits} of {trials} problems.",
                "Explained in writing with the frame; the last step was left out.",
                "Wrote the explanation in English after explaining it in Spanish to a partner.",
            ),
        ),
    ),
    (
        "Explain-your-thinking task: {hits} of {trials} explanations complete.",
        'Explained the steps aloud to the teacher using "first", "then", "so".',
        "Math journal ({month}): {sentences} sentences explaining the area problem.",
        "Explained {pct}% of problems with the frame; vocabulary mostly accurate.",
    ),
    "explaining math thinking in English",
    "At home, asking the student to explain how they solved a problem, in any language, helps.",
)
