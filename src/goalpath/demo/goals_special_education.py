"""Annual goals of the demo's special-education programs (elementary and secondary), as IEPs
write them: measurable, with a baseline and how progress is measured.
"""

from __future__ import annotations

from goalpath.demo.plans import make_plan

READING_ELEMENTARY = make_plan(
    "Reading",
    "By the annual IEP review, will read a grade-3 passage aloud at {target} with 95% "
    "accuracy on 3 consecutive probes",
    (
        "45 words correct per minute",
        "50 words correct per minute",
        "55 words correct per minute",
        "60 words correct per minute",
        "70 words correct per minute",
    ),
    "Baseline (August 2025): 24 words correct per minute on grade-3 passages, 88% accuracy. "
    "Measured every two weeks with a one-minute oral reading probe in the resource room.",
    (
        (
            "Will decode two-syllable words with closed and vowel-team syllables with 90% accuracy",
            (
                "Decoded {hits} of {trials} two-syllable words from the vowel-team list; "
                "needed a syllable-division prompt on {prompts}.",
                "Word-list probe: {hits}/{trials} correct. Errors were on -tion endings.",
                "Practised closed syllables with letter tiles; {hits} of {trials} read correctly "
                "without a model.",
            ),
        ),
        (
            "Will retell the main idea and two key details of a grade-level passage",
            (
                "Retold the main idea of the passage and {hits} of {trials} key details on the "
                "story map.",
                "After a second read, named the main idea independently and gave two details "
                "with one picture prompt.",
                "Retell with the graphic organiser: {hits}/{trials} story elements included.",
            ),
        ),
    ),
    (
        "Read {wcpm} wcpm on the {month} probe, {errors} errors; self-corrected {corrections} "
        "times.",
        "Fluency probe ({month}): {wcpm} words correct per minute, {pct}% accuracy.",
        "Repeated reading of a grade-3 passage: first read {words} words, third read {wcpm} "
        "wcpm with {errors} errors.",
        "Cold read {wcpm} wcpm; phrasing is smoother and the student paused at periods.",
    ),
    "reading aloud smoothly and accurately",
    "At home, reading a favourite book together for ten minutes a day helps.",
)

WRITING_ELEMENTARY = make_plan(
    "Writing",
    "Will write a paragraph with a topic sentence, {target} and a closing sentence, using "
    "a graphic organiser",
    (
        "two supporting details",
        "three supporting details",
        "three details in order",
        "three details and a linking word",
        "four supporting details",
    ),
    "Baseline: writes one or two unconnected sentences on a topic. Measured monthly with a "
    "classroom writing sample scored on the team's paragraph checklist.",
    (
        (
            "Will plan a paragraph on a graphic organiser before writing",
            (
                "Filled in {hits} of {trials} boxes of the organiser before starting to write.",
                "Planned on the organiser with one verbal prompt; chose the topic independently.",
                "Organiser complete in {minutes} minutes; details matched the topic sentence.",
            ),
        ),
        (
            "Will edit a draft for capital letters and end punctuation",
            (
                "Edited the draft with the CUPS checklist; fixed {hits} of {trials} capital and "
                "punctuation errors.",
                "Found {hits} of {trials} missing periods when reading the draft aloud.",
                "Self-edited without a prompt and caught every missing capital.",
            ),
        ),
    ),
    (
        "Writing sample ({month}): {sentences} sentences on topic, topic sentence present, "
        "{hits} of {trials} checklist items met.",
        "Wrote {words} words in 15 minutes with the organiser; needed {prompts} prompts to "
        "keep going.",
        "Paragraph on the class field trip: clear topic sentence and {sentences} supporting "
        "sentences.",
        "Dictated ideas first, then wrote {sentences} sentences independently.",
    ),
    "writing a clear paragraph",
    "At home, asking the student to tell you three things about their day, in order, "
    "helps with planning writing.",
)

MATH_ELEMENTARY = make_plan(
    "Math",
    "Will solve one- and two-step addition and subtraction word problems within 100 with {target}",
    (
        "70% accuracy",
        "75% accuracy",
        "80% accuracy",
        "80% accuracy on 3 of 4 probes",
        "85% accuracy",
    ),
    "Baseline: 40% accuracy on one-step word problems within 100 when read aloud. Measured "
    "every two weeks with a 10-problem curriculum probe.",
    (
        (
            "Will choose the operation for a word problem and explain the choice",
            (
                "Chose the correct operation on {hits} of {trials} problems and explained it "
                "with the part-part-whole model.",
                "Underlined the question and circled key numbers; operation correct {hits}/"
                "{trials}.",
                "Explained the choice of subtraction in words on {hits} of {trials} problems.",
            ),
        ),
        (
            "Will check an answer with estimation",
            (
                "Estimated before solving on {hits} of {trials} problems and caught one "
                "unreasonable answer.",
                "Used rounding to the nearest ten to check answers; {hits}/{trials} checked.",
                "Checked answers with a number line when reminded; reminder needed {prompts} "
                "times.",
            ),
        ),
    ),
    (
        "Word-problem probe: {hits} of {trials} correct ({pct}%). Two-step problems still "
        "need a drawing.",
        "Solved {hits}/{trials} problems with the bar model, {prompts} prompts.",
        "Probe in {month}: {pct}% accuracy; errors were in regrouping, not in the choice of "
        "operation.",
        "Small-group math: {hits} of {trials} problems correct independently.",
    ),
    "solving word problems",
    "At home, making up quick shopping problems (how much change from a dollar?) helps.",
)

COMMUNICATION = make_plan(
    "Communication",
    "Will initiate a greeting with a peer during recess on {target}",
    (
        "2 of 4 observed days",
        "3 of 4 observed days",
        "3 of 5 observed days",
        "4 of 5 observed days",
        "4 of 4 observed days",
    ),
    "Baseline: greets peers only when an adult models it, about 1 day in 5. Observed at "
    "recess and lunch by the speech-language pathologist and the classroom aide.",
    (
        (
            "Will use a greeting from the visual menu with a familiar peer",
            (
                "Used a greeting from the visual menu with a familiar peer on {hits} of {trials} "
                "opportunities.",
                "Greeted two classmates at arrival with the picture card as a prompt.",
                'Chose "Hi, want to play?" from the menu and used it without a model.',
            ),
        ),
        (
            "Will ask a follow-up question to keep a conversation going",
            (
                "Kept a conversation going for {exchanges} exchanges with one follow-up question.",
                "Asked a follow-up question in {hits} of {trials} structured conversations in "
                "speech.",
                "Needed the question card to ask a follow-up; answered peers' questions readily.",
            ),
        ),
    ),
    (
        "Recess observation: initiated a greeting with a peer, no adult prompt.",
        "Observed at lunch: greeted a peer after a gesture prompt; conversation lasted "
        "{exchanges} exchanges.",
        "Initiated greetings on {hits} of {trials} recess observations this month.",
        "Joined a group game after greeting; stayed {minutes} minutes.",
    ),
    "starting conversations with classmates",
    "At home, practising greetings with family members and neighbours helps.",
)

SELF_REGULATION = make_plan(
    "Social-emotional",
    "Will use a self-regulation strategy from the student's plan in {target}",
    (
        "3 of 5 observed frustrating moments",
        "4 of 5 observed frustrating moments",
        "4 of 5 observed frustrating moments across two settings",
        "80% of observed frustrating moments",
        "4 of 5 observed frustrating moments for 3 consecutive weeks",
    ),
    "Baseline: uses a strategy in about 1 of 5 frustrating moments; otherwise leaves the "
    "area or tears up work. Data from the classroom frequency chart and counselor check-ins.",
    (
        (
            "Will name the feeling using the zones chart",
            (
                "Named the feeling with the zones chart on {hits} of {trials} check-ins.",
                'Identified "yellow zone" before a math test and asked for a break card.',
                "Named frustration in words during a group task instead of leaving the table.",
            ),
        ),
        (
            "Will choose a calming strategy from the menu and return to the task",
            (
                "Chose a strategy from the menu (breathing, squeeze ball) and returned to work "
                "within {minutes} minutes.",
                "Used the break card {hits} times today; returned to the task after each break.",
                "Needed an adult prompt to pick a strategy; returned to class after 5 minutes.",
            ),
        ),
    ),
    (
        "Used a strategy in {hits} of {trials} observed frustrating moments today.",
        "Frequency chart for the week: strategy used {hits}/{trials} times; no work destroyed.",
        "Stayed calm when a classmate took the chosen seat; used deep breathing without a prompt.",
        "Two frustrating moments during writing; took a break once and returned, the second "
        "time left the area.",
    ),
    "handling frustration calmly",
    'At home, naming feelings together ("you look frustrated") and trying one calming idea helps.',
)

BEHAVIOUR = make_plan(
    "Behaviour",
    "Will remain in the assigned area and on task during independent work for {target}",
    (
        "10 minutes with one prompt",
        "12 minutes with one prompt",
        "15 minutes with one prompt",
        "15 minutes with no more than one prompt",
        "20 minutes with no prompts",
    ),
    "Baseline: stays at the desk for about 4 minutes of independent work before leaving the "
    "area. Measured with a momentary time-sampling sheet twice a week.",
    (
        (
            "Will follow a visual schedule for transitions",
            (
                "Checked the visual schedule at {hits} of {trials} transitions without a prompt.",
                "Moved from reading to math using the schedule; one verbal prompt.",
                "Transitions were smooth today; the student moved the schedule card each time.",
            ),
        ),
        (
            "Will ask for help with the help card instead of leaving the area",
            (
                "Used the help card {hits} times during independent work; left the area once.",
                "Raised the help card instead of walking away on {hits} of {trials} occasions.",
                "Asked for help in words during science; stayed at the table.",
            ),
        ),
    ),
    (
        "Time sampling: on task {pct}% of intervals during independent reading, {prompts} prompts.",
        "Stayed in the assigned area for {minutes} minutes of independent work.",
        "Earned {hits} of {trials} points on the check-in/check-out card.",
        "On task for most of the work block; one prompt after a classroom interruption.",
    ),
    "staying focused during independent work",
    "At home, a short checklist for homework time and a break after each part helps.",
)

READING_SECONDARY = make_plan(
    "Reading",
    "Given a grade-level informational text, will identify the central idea and cite "
    "{target} with 80% accuracy",
    (
        "two pieces of supporting evidence",
        "two pieces of evidence",
        "three pieces of evidence",
        "three pieces of text evidence",
        "three pieces of evidence and explain one",
    ),
    "Baseline: identifies the topic but not the central idea; cites one piece of evidence "
    "with support. Measured with monthly curriculum-based reading tasks in English class.",
    (
        (
            "Will annotate a text for key ideas with the annotation code",
            (
                "Annotated the article with the code; {hits} of {trials} key ideas marked.",
                "Highlighted the main claim and two supporting facts in the science reading.",
                "Annotation was thorough in the first half, then stopped; prompted once.",
            ),
        ),
        (
            "Will summarise a section in two sentences",
            (
                "Summarised {hits} of {trials} sections in two sentences of the student's own.",
                "Summary captured the central idea; the second sentence repeated the first.",
                "Wrote two-sentence summaries for each section of the history chapter.",
            ),
        ),
    ),
    (
        "Central-idea task ({month}): central idea correct, {hits} of {trials} evidence "
        "points cited ({pct}%).",
        "Cited evidence with page numbers on {hits} of {trials} questions in English.",
        "Reading task in {month}: {pct}% accuracy with the text read aloud by the app.",
        "Identified the author's claim and supported it with two quotations.",
    ),
    "finding the main idea of a text and backing it up",
    "At home, asking what an article or video was mostly about, and how the student knows, helps.",
)

WRITING_SECONDARY = make_plan(
    "Writing",
    "Will write a multi-paragraph response with a claim, {target} and a conclusion, scoring "
    "3 of 4 on the district writing rubric",
    (
        "two reasons with evidence",
        "two reasons, each with evidence",
        "three reasons with evidence",
        "two reasons and a counterclaim",
        "three reasons and a counterclaim",
    ),
    "Baseline: writes one paragraph with a claim and one reason; scores 1-2 of 4 on the "
    "rubric. Measured with quarterly common writing tasks and monthly classroom samples.",
    (
        (
            "Will outline an argument before drafting",
            (
                "Outlined the claim and {few} reasons before drafting; evidence listed for {few}.",
                "Used the outline template without being asked; evidence filled in for "
                "{few} of 4 boxes.",
                "Completed the outline in {minutes} minutes with speech-to-text.",
            ),
        ),
        (
            "Will use transition words between paragraphs",
            (
                "Used transitions between {few} of 4 paragraphs in the draft.",
                'Added "for example" and "however" when revising with the checklist.',
                "Revised the {month} draft for transitions after a conference; {few} added.",
            ),
        ),
    ),
    (
        "Writing sample ({month}): rubric score {score} of 4; claim clear, evidence thin.",
        "Drafted {words} words with speech-to-text; three paragraphs, conclusion missing.",
        "Argument essay draft: claim and {sentences} supporting sentences, one counterclaim.",
        "Completed the common writing task in the extended-time room; rubric score {score}.",
    ),
    "writing an argument with reasons and evidence",
    "At home, talking through both sides of a question the student cares about helps.",
)

MATH_SECONDARY = make_plan(
    "Math",
    "Will solve one-variable linear equations, including with variables on both sides, "
    "with {target}",
    (
        "70% accuracy",
        "75% accuracy",
        "80% accuracy",
        "80% accuracy on 3 consecutive probes",
        "85% accuracy",
    ),
    "Baseline: solves one-step equations with 60% accuracy; two-step equations 20%. Measured "
    "every two weeks with a 10-item probe, calculator allowed.",
    (
        (
            "Will use inverse operations to isolate the variable",
            (
                "Isolated the variable in {hits} of {trials} two-step equations.",
                "Showed each inverse operation on the worked-example sheet; {hits}/{trials} "
                "correct.",
                "Errors with negative numbers on {misses} items; reviewed the integer rules.",
            ),
        ),
        (
            "Will check a solution by substituting it into the equation",
            (
                "Checked solutions by substitution on {hits} of {trials} items without a reminder.",
                "Found and fixed one wrong answer by substituting.",
                "Skipped checking when rushed; prompted twice.",
            ),
        ),
    ),
    (
        "Equations probe ({month}): {hits}/{trials} ({pct}%).",
        "Solved {hits} of {trials} equations with variables on both sides in the learning lab.",
        "Probe: {pct}% accuracy; sign errors on {misses} items.",
        "Worked {minutes} minutes independently on the equations set; asked one question.",
    ),
    "solving equations",
    "At home, asking the student to explain one homework problem step by step helps.",
)

TRANSITION = make_plan(
    "Transition",
    "Will complete a four-step job-site task sequence at the community work site with {target}",
    (
        "no more than 4 prompts",
        "no more than 3 prompts",
        "no more than 2 prompts",
        "1 prompt or fewer",
        "no prompts on 3 consecutive visits",
    ),
    "Postsecondary goal: part-time work in food service or retail after graduation. "
    "Baseline: completes the sequence with 6 prompts. Measured at each weekly work-site "
    "visit by the job coach.",
    (
        (
            "Will follow a picture checklist for the task sequence",
            (
                "Followed the picture checklist at the work site; {hits} of {trials} steps "
                "without a prompt.",
                "Checked off each step on the tablet checklist; skipped the last step once.",
                "Restocked {trials} shelves in order using the checklist; {misses} needed "
                "a recheck.",
            ),
        ),
        (
            "Will ask a supervisor for help using a polite phrase",
            (
                'Asked the supervisor for help with "Excuse me, can you show me?" {few} times.',
                "Waited for the supervisor to finish before asking; good timing.",
                "Needed a prompt to ask for help when supplies ran out.",
            ),
        ),
    ),
    (
        "Work site visit: completed the sequence with {prompts} prompts in {minutes} minutes.",
        "Job coach data: {hits} of {trials} steps independent; arrived on time.",
        "Folded and stacked {words} towels to standard; {prompts} prompts to check the count.",
        "Practised the interview questions for the summer job; answered {hits} of {trials} "
        "clearly.",
    ),
    "completing tasks at the community work site",
    "At home, giving the student a regular chore with a checklist helps build the same habits.",
)

ATTENDANCE = make_plan(
    "Attendance",
    "Will attend school and arrive by the first bell on {target}",
    (
        "85% of school days",
        "88% of school days",
        "90% of school days",
        "90% of school days each month",
        "95% of school days",
    ),
    "Baseline (2024-25): attended 78% of days, with most absences on Mondays. Attendance "
    "data reviewed every week by the counselor with the student.",
    (
        (
            "Will check in with the mentor each morning",
            (
                "Checked in with the mentor on {present} of 5 mornings this week.",
                "Morning check-in: arrived at 7:{arrival} and set a goal for the day.",
                "Missed the check-in twice; the mentor called home both days.",
            ),
        ),
        (
            "Will make up missed work within two days of an absence",
            (
                "Collected the missed work the day after the absence and finished {hits} of "
                "{trials} assignments.",
                "Used the make-up work folder without a reminder.",
                "Two assignments still missing after Monday's absence; plan made with the teacher.",
            ),
        ),
    ),
    (
        "Attendance this week: present {present} of 5 days, on time on {present} of them.",
        "Weekly review with the student: {present} of 5 days attended; goal chart updated.",
        "On time every day this week; earned the privilege agreed in the attendance plan.",
        "Present {present} of 5 days. Absence on Monday excused (medical appointment).",
    ),
    "coming to school every day and on time",
    "At home, a regular bedtime and getting things ready the night before help mornings.",
)

SELF_ADVOCACY = make_plan(
    "Social-emotional",
    "Will request an accommodation from the student's plan (extended time, breaks, notes) "
    "in {target}",
    (
        "2 of 4 classes",
        "3 of 5 opportunities",
        "4 of 5 opportunities",
        "4 of 5 opportunities across three classes",
        "every class where it applies",
    ),
    "Baseline: rarely asks for accommodations; teachers offer them. Data from teacher "
    "reports and the weekly check-in with the case manager.",
    (
        (
            "Will name the accommodations in the plan and why they help",
            (
                "Named {few} of the 4 accommodations in the plan and explained how each one helps.",
                "Explained extended time to the case manager in the student's own words; named "
                "{few} classes where it helps.",
                "Listed {few} accommodations on the self-advocacy card without help.",
            ),
        ),
        (
            "Will ask a teacher privately for an accommodation",
            (
                "Asked the chemistry teacher for extended time on the quiz, privately, after "
                "class.",
                "Requested notes in {hits} of {trials} classes this week.",
                "Practised the request with the case manager; did not yet ask in class.",
            ),
        ),
    ),
    (
        "Requested an accommodation in {hits} of {trials} opportunities reported by teachers.",
        "Asked for a break in English when work felt overwhelming; returned in 5 minutes.",
        "Weekly check-in: used extended time on two tests and asked for it both times.",
        "Did not ask for notes in history; discussed a script to use next time.",
    ),
    "asking teachers for the supports in the plan",
    "At home, encouraging the student to speak up for what helps them learn makes a difference.",
)
