package org.anxin.sdk

import java.nio.file.Files
import java.nio.file.Path
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.BeforeEach
import kotlinx.coroutines.launch
import org.junit.jupiter.api.Test

/** Passes frames between two sessions until both are done, as a phone's transport would. */
fun sync(initiator: AnxinStore, responder: AnxinStore, enrolCode: String? = null, frame: UInt = 4096u): Pair<SyncReport, SyncReport> {
    initiator.sync().session(SyncOptions(initiator = true, maxFrameBytes = frame, enrolCode = enrolCode)).use { a ->
        responder.sync().session(SyncOptions(initiator = false, maxFrameBytes = frame, enrolCode = null)).use { b ->
            var toB = a.start()
            var rounds = 0
            while (rounds < 1000) {
                val toA = toB.flatMap { b.receive(it) }
                toB = toA.flatMap { a.receive(it) }
                rounds++
                if (toA.isEmpty() && toB.isEmpty()) break
            }
            assertTrue(a.isFinished() && b.isFinished(), "the session ended")
            return a.report() to b.report()
        }
    }
}

class AnxinSdkTest {
    private lateinit var dir: Path
    private lateinit var station: AnxinStore
    private lateinit var grid: String

    private fun path(name: String) = dir.resolve(name).toString()

    private fun worker(role: WorkerRole, inGrid: Boolean = false): WorkerInfo =
        station.workers(if (inGrid) grid else null, role).first()

    /**
     * A phone enrolled for [owner] (by default the first counselor, with every grid and the
     * case team): the station admin makes a one-time code; the phone enrols with it. The
     * phone then acts as its owner and no one else.
     */
    private fun phone(
        name: String,
        key: String? = "phone key $name",
        owner: WorkerInfo = worker(WorkerRole.COUNSELOR),
        scopes: List<String>? = listOf("station", "grid:*", "case:main"),
    ): AnxinStore {
        // No scopes of its own: it holds what its credential grants.
        val p = AnxinStore.open(OpenOptions(path(name), key, null, null))
        station.actAs(worker(WorkerRole.STATION_ADMIN).id)
        val code = station.admin().enrolDevice(owner.id, scopes, 15u, 90u)
        val (mine, _) = sync(p, station, enrolCode = code)
        assertTrue(mine.completed, "enrolled: ${mine.error}")
        p.actAs(owner.id)
        return p
    }

    /**
     * The counselor signs at the station's laptop with her own identity file, issued by the
     * station admin: a professional's sign-off is never the station's. A wrong passphrase
     * opens nothing.
     */
    private fun signAsCounselor() {
        station.actAs(worker(WorkerRole.STATION_ADMIN).id)
        val file = station.admin().issueIdentity(worker(WorkerRole.COUNSELOR).id, 30u, "her own passphrase")
        assertFailsWith<AnxinException.Unauthorized> { station.admin().signAs(file, "not hers at all") }
        station.admin().signAs(file, "her own passphrase")
    }

    @BeforeEach
    fun setUp() {
        dir = Files.createTempDirectory("anxin-kotlin")
        station = AnxinStore.open(OpenOptions(path("station.db"), "station key", null, null))
        station.admin().loadFixture(30u, 7uL)
        grid = station.grids().first().id
    }

    @AfterEach
    fun tearDown() {
        station.close()
        dir.toFile().deleteRecursively()
    }

    @Test
    fun aPhoneEnrolsFromACodeOnceAndARevokedPhoneIsRefused() {
        station.actAs(worker(WorkerRole.STATION_ADMIN).id)
        val volunteer = worker(WorkerRole.VOLUNTEER, inGrid = true)
        val code = station.admin().enrolDevice(volunteer.id, null, 15u, 90u)
        val p = AnxinStore.open(OpenOptions(path("enrolled.db"), "k", null, null))
        // Before enrolling, a session is refused on this side: no credential.
        assertFailsWith<AnxinException.NotEnrolled> {
            p.sync().session(SyncOptions(initiator = true, maxFrameBytes = 4096u, enrolCode = null)).use { it.start() }
        }
        p.sync().enroll(code, 4096u).use { s ->
            var out = s.start()
            station.sync().session(SyncOptions(initiator = false, maxFrameBytes = 4096u, enrolCode = null)).use { b ->
                while (!s.isFinished()) { out = out.flatMap { b.receive(it) }.flatMap { s.receive(it) } }
            }
            assertTrue(s.report().completed, "enrolled: ${s.report().error}")
        }
        assertTrue(p.households().list(grid, 100u).isNotEmpty(), "the volunteer's grid arrived")
        val mine = station.admin().devices().first { it.workerId == volunteer.id }
        assertEquals(WorkerRole.VOLUNTEER, mine.role)
        assertTrue(mine.scopes.none { it.startsWith("case:") }, "a volunteer's phone holds no case files")
        // The code works once.
        val again = AnxinStore.open(OpenOptions(path("again.db"), "k", null, null))
        val used = assertFailsWith<AnxinException.Unauthorized> { sync(again, station, enrolCode = code) }
        assertTrue(used.reason.contains("already used"), used.reason)
        assertFailsWith<AnxinException.InvalidInput> { again.sync().enroll("AX1 not a code", 4096u) }
        // Revoked: the station refuses the phone from then on.
        station.admin().revokeDevice(mine.deviceId)
        assertTrue(station.admin().devices().first { it.deviceId == mine.deviceId }.revoked)
        assertFailsWith<AnxinException.Revoked> { sync(p, station) }
        again.close()
        p.close()
    }

    @Test
    fun recordsAndEnumsCrossTheBoundary() {
        val instruments = station.screening().instruments()
        assertEquals(18, instruments.size)
        val phq9 = instruments.first { it.id == "phq9" }
        assertEquals(listOf(Language.ZH_HANS, Language.ZH_HANT, Language.EN), phq9.languages)
        assertTrue(instruments.first { it.id == "cssrs" }.languages.isEmpty(), "licensed texts are not shipped")
        assertEquals(phq9, phq9.copy())
        val v = worker(WorkerRole.VOLUNTEER, inGrid = true)
        assertEquals(WorkerRole.VOLUNTEER, v.role)
        assertEquals(grid, v.gridId)
        assertTrue(station.households().list(grid, 100u).isNotEmpty())
        assertTrue(anxinVersion().isNotEmpty())
    }

    @Test
    fun everyCodeHasWordsInThreeLanguagesAndPlatformTagsWork() {
        // Platform tags as they come, to the closed Language enum.
        for ((tag, language) in listOf(
            "zh-Hans-CN" to Language.ZH_HANS, "zh_CN" to Language.ZH_HANS, "zh" to Language.ZH_HANS,
            "zh_Hant_TW" to Language.ZH_HANT, "zh-HK" to Language.ZH_HANT, "zh-Hant" to Language.ZH_HANT,
            "en-US" to Language.EN, "en_GB" to Language.EN,
        )) {
            assertEquals(language, languageFromTag(tag), tag)
        }
        assertFailsWith<AnxinException.InvalidInput> { languageFromTag("fr-FR") }
        val zh = labels(languageFromTag("zh-Hans-CN"))
        val en = labels(Language.EN)
        val hant = labels(languageFromTag("zh_Hant_TW"))
        assertEquals(en.map { it.vocabulary to it.code }, zh.map { it.vocabulary to it.code })
        assertEquals(en.size, hant.size)
        assertTrue(en.size > 100, "${en.size} labels")
        assertEquals("二级（心理咨询）", zh.first { it.vocabulary == "tier" && it.code == "t2" }.text)
        assertEquals("獨居老人", label("tag", "elderly_alone", Language.ZH_HANT))
        assertEquals("药品即将断供", label("reason", "critical_medicine", Language.ZH_HANS))
        assertEquals("dialysis_patient", label("tag", "dialysis_patient", Language.ZH_HANS))
        assertFailsWith<AnxinException.InvalidInput> { label("colour", "red", Language.EN) }
        // Tags stay open strings; the known ones all have words.
        assertTrue(knownTags().contains("elderly_alone"))
        assertTrue(knownTags().all { t -> zh.any { it.vocabulary == "tag" && it.code == t } })
        // Every closed vocabulary an enum crosses as has a word for each value: the enum's
        // names are the codes.
        fun <E : Enum<E>> covered(vocabulary: String, values: Array<E>) = values.forEach { v ->
            assertTrue(zh.any { it.vocabulary == vocabulary && it.code == v.name.lowercase() }, "$vocabulary/${v.name}")
        }
        covered("sex", Sex.values())
        covered("need_kind", NeedKind.values())
        covered("order_kind", OrderKind.values())
        covered("urgency", Urgency.values())
        covered("order_status", OrderStatus.values())
        covered("priority", Priority.values())
        covered("due_kind", DueKind.values())
        covered("conflict_kind", ConflictKind.values())
    }

    @Test
    fun everyErrorVariantIsTyped() {
        val volunteer = worker(WorkerRole.VOLUNTEER, inGrid = true)
        station.actAs(volunteer.id)
        assertFailsWith<AnxinException.NotFound> { station.households().residents("6f1d0b8e-6a0c-4c39-9d3b-7d5f2a1c0e11") }
        val household = station.households().list(grid, 1u).first().id
        val bad = assertFailsWith<AnxinException.InvalidInput> {
            station.households().addResident(household, ResidentInput("测试", Sex.FEMALE, 1800u, "", listOf()))
        }
        assertEquals("resident.birth_year", bad.field)
        // A code and its limits for the app's own words; the English sentence as fallback.
        assertEquals("out_of_range", bad.violation)
        assertTrue(bad.min != null && bad.max != null && 1800 < bad.min)
        assertFalse(bad.message.contains("测试"), "errors never carry names")
        assertFailsWith<AnxinException.InvalidInput> { station.actAs("not-an-id") }
        val q = station.screening().start("phq9", Language.EN, household, station.households().residents(household).first().id)
        val range = assertFailsWith<AnxinException.InvalidInput> { q.answer("1", 7) }
        assertEquals("phq9 item 1", range.field)
        // Permission: a volunteer may not review a screening.
        val resident = station.households().residents(household).first().id
        val crisis = station.cases().openCrisis(household, resident, "test")
        val denied = assertFailsWith<AnxinException.PermissionDenied> {
            station.cases().closeCrisis(crisis, RiskTier.T2, "")
        }
        // Codes an app words in its user's language with the labels.
        assertEquals("close_crisis" to "only_professional", denied.action to denied.rule)
        assertEquals("只有心理咨询师或医护人员可以", label("rule", denied.rule, Language.ZH_HANS))
        // At the station's laptop `actAs` alone cannot sign a closing off.
        station.actAs(worker(WorkerRole.COUNSELOR).id)
        assertFailsWith<AnxinException.PermissionDenied> { station.cases().closeCrisis(crisis, RiskTier.T1, "") }
        // Conflict: acting on a closed crisis (closed by the counselor, signed
        // with her own identity).
        signAsCounselor()
        station.cases().closeCrisis(crisis, RiskTier.T1, "")
        val conflict = assertFailsWith<AnxinException.Conflict> {
            station.cases().crisisAction(crisis, CrisisStepKind.OTHER, "")
        }
        assertEquals(listOf("act_on_crisis", "closed", "crisis_state"), listOf(conflict.action, conflict.status, conflict.statusVocabulary))
        station.admin().signAsDevice()
        // The wrong key: ask for it again.
        assertFailsWith<AnxinException.KeyRejected> {
            AnxinStore.open(OpenOptions(path("station.db"), "wrong key", null, null)).close()
        }
        // A store written by a newer Anxin: update the app (nothing is changed).
        AnxinStore.open(OpenOptions(path("newer.db"), null, null, null)).close()
        val bump = ProcessBuilder("python3", "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version = 999'); c.commit()",
            path("newer.db")).inheritIO().start()
        assertEquals(0, bump.waitFor())
        val newer = assertFailsWith<AnxinException.StoreTooNew> {
            AnxinStore.open(OpenOptions(path("newer.db"), null, null, null)).close()
        }
        assertEquals(999u, newer.found)
        // Storage: a place no store can be made.
        assertFailsWith<AnxinException.Storage> {
            AnxinStore.open(OpenOptions(path("no-such-folder/x.db"), null, null, null)).close()
        }
        // No acting worker: a fresh store records nothing until someone signs in.
        AnxinStore.open(OpenOptions(path("nobody.db"), null, null, null)).use { nobody ->
            nobody.admin().loadFixture(3u, 1uL)
            assertFailsWith<AnxinException.NoActingWorker> {
                nobody.households().add(nobody.grids().first().id, AddressInput("a", "b", "c", "d"))
            }
        }

        // Sync: a damaged bundle, and nothing changes.
        val before = station.admin().exportJson()
        assertFailsWith<AnxinException.Sync> { station.sync().importBundle(byteArrayOf(1, 2, 3)) }
        assertEquals(before, station.admin().exportJson())
        // Internal: a panic inside Anxin becomes an exception, not a crash.
        assertFailsWith<AnxinException.Internal> { diagnosticsPanicIsAnError() }
    }

    @Test
    fun aListenerStaysWithoutItsHandleAndHearsEveryDocumentUntilUnregistered() {
        station.actAs(worker(WorkerRole.VOLUNTEER, inGrid = true).id)
        val changes = java.util.Collections.synchronizedList(mutableListOf<StoreChange>())
        // The app keeps no reference to the handle: the garbage collector may take it, and the
        // listener must still hear everything (a missed crisis alert is not an option).
        var handle: ListenerHandle? = station.addStoreListener(object : StoreChangeListener {
            override fun onChange(change: StoreChange) { changes.add(change) }
        })
        val kept = handle!!
        handle = null
        repeat(5) { System.gc(); Thread.sleep(20) }
        val h = station.households().add(grid, AddressInput("百步亭花园", "3栋", "2单元", "101"))
        assertEquals(StoreChange(DocumentKind.HOUSEHOLD, h, ChangeOrigin.THIS_DEVICE, false), changes.single())
        // A resident lives in the household's document: adding one reports the household.
        val r = station.households().addResident(h, ResidentInput("李", Sex.MALE, 1950u, "", listOf()))
        assertEquals(StoreChange(DocumentKind.HOUSEHOLD, h, ChangeOrigin.THIS_DEVICE, false), changes.last())
        station.households().setResidentTag(h, r, "disabled", true)
        assertEquals(listOf("disabled"), station.households().residents(h).single().tags)
        // A refused write reports nothing.
        val before = changes.size
        assertFailsWith<AnxinException.PermissionDenied> { station.households().moveHousehold(h, station.grids().last().id) }
        assertEquals(before, changes.size)
        // A screening graded crisis writes the case file (and its crisis) in one call.
        val q = station.screening().start("phq9", Language.EN, h, r)
        listOf(0, 0, 0, 0, 0, 0, 0, 0, 1).forEachIndexed { i, v -> q.answer("${i + 1}", v) }
        val recorded = station.screening().record(listOf(q))
        assertEquals(StoreChange(DocumentKind.CASE_FILE, recorded.caseId, ChangeOrigin.THIS_DEVICE, false), changes.last())
        kept.unregister()
        val after = changes.size
        station.households().add(grid, AddressInput("百步亭花园", "3栋", "2单元", "102"))
        assertEquals(after, changes.size, "unregistered: it hears nothing more")
        kept.unregister()
    }

    @Test
    fun aReadFinishesWhileALongSyncIsApplyingDocuments() {
        // A fresh phone receives a large station; a thread drives the sync while the test
        // reads lists on the phone. `inside` is odd while a `receive` (which applies
        // documents, holding the writer) runs: a read that starts and ends within the same
        // receive did not wait for it. Several in one receive rule out the moments before
        // and after the writer is held.
        station.actAs(worker(WorkerRole.STATION_ADMIN).id)
        repeat(3) { station.admin().loadFixture(60u, (it + 20).toULong()) }
        val code = station.admin().enrolDevice(worker(WorkerRole.COUNSELOR).id, listOf("station", "grid:*", "case:main"), 15u, 90u)
        val p = AnxinStore.open(OpenOptions(path("reading.db"), "k", null, null))
        val inside = java.util.concurrent.atomic.AtomicLong(0)
        var failure: Throwable? = null
        val syncing = Thread {
            try {
                val frame = 60_000u
                p.sync().session(SyncOptions(initiator = true, maxFrameBytes = frame, enrolCode = code)).use { a ->
                    station.sync().session(SyncOptions(initiator = false, maxFrameBytes = frame, enrolCode = null)).use { b ->
                        var toB = a.start()
                        for (round in 0 until 1000) {
                            val toA = toB.flatMap { b.receive(it) }
                            toB = toA.flatMap {
                                inside.incrementAndGet()
                                try { a.receive(it) } finally { inside.incrementAndGet() }
                            }
                            if (toA.isEmpty() && toB.isEmpty()) break
                        }
                        assertTrue(a.isFinished() && a.report().completed, "${a.report().error}")
                    }
                }
            } catch (e: Throwable) {
                failure = e
            }
        }
        syncing.start()
        val withinOneReceive = mutableMapOf<Long, Int>()
        var reads = 0
        while (syncing.isAlive) {
            val before = inside.get()
            // Until the station's document arrives the phone has no grids to list.
            kotlinx.coroutines.runBlocking {
                try { p.gridsAsync() } catch (e: AnxinException.NotEnrolled) { listOf() } catch (e: AnxinException.NotFound) { listOf() }
            }
            reads++
            if (before % 2 == 1L && inside.get() == before) {
                withinOneReceive[before] = (withinOneReceive[before] ?: 0) + 1
            }
        }
        syncing.join()
        failure?.let { throw it }
        val most = withinOneReceive.values.maxOrNull() ?: 0
        assertTrue(most >= 5, "reads finished while a receive was applying documents: at most $most in one ($reads reads)")
        assertEquals(station.grids(), p.grids())
        p.close()
    }

    @Test
    fun closingTheStoreClosesItsDatabaseAndWhatIsLeftFailsTyped() {
        val volunteer = worker(WorkerRole.VOLUNTEER, inGrid = true)
        val store = AnxinStore.open(OpenOptions(path("closing.db"), "k", null, volunteer.id))
        store.admin().loadFixture(5u, 3uL)
        val g = store.grids().first().id
        val h = store.households().list(g, 1u).first().id
        val q = store.screening().start("phq9", Language.EN, h, store.households().residents(h).first().id)
        q.answer("1", 0)
        val session = store.sync().session(SyncOptions(initiator = true, maxFrameBytes = 4096u, enrolCode = null))
        val households = store.households()
        store.close()
        assertFailsWith<AnxinException.Closed> { q.answer("2", 0) }
        assertFailsWith<AnxinException.Closed> { session.start() }
        assertFailsWith<AnxinException.Closed> { households.list(g, 1u) }
        // The closed store object itself: the same typed error, not uniffi's
        // IllegalStateException.
        assertFailsWith<AnxinException.Closed> { store.grids() }
        assertFailsWith<AnxinException.Closed> { store.households() }
        // The database is closed: the file can be opened again at once, by a new store.
        AnxinStore.open(OpenOptions(path("closing.db"), "k", null, null)).use { again ->
            assertTrue(again.admin().check())
        }
        session.close()
        q.close()
    }

    @Test
    fun anInterviewResumesAfterTheStoreIsReopenedWithoutAlertingTwiceAndWipeLeavesNothing() {
        val file = path("interview.db")
        val first = AnxinStore.open(OpenOptions(file, "k", null, null))
        first.admin().loadFixture(5u, 9uL)
        val volunteer = first.workers(null, WorkerRole.VOLUNTEER).first().id
        first.actAs(volunteer)
        val h = first.households().list(first.grids().first().id, 1u).first().id
        val r = first.households().residents(h).first().id
        val alerts = mutableListOf<CrisisAlert>()
        first.addCrisisListener(object : CrisisListener {
            override fun onCrisis(alert: CrisisAlert) { alerts.add(alert) }
        })
        val q = first.screening().start("phq9", Language.EN, h, r)
        listOf("1" to 1, "2" to 2, "3" to 0).forEach { (item, v) -> q.answer(item, v) }
        assertEquals(listOf("suicidal_ideation"), q.answer("9", 1).redFlags)
        assertEquals(1, alerts.size)
        // The app is killed mid-interview: the store goes away with everything in memory.
        first.close()

        AnxinStore.open(OpenOptions(file, "k", null, volunteer)).use { again ->
            val heard = mutableListOf<CrisisAlert>()
            val handle = again.addCrisisListener(object : CrisisListener {
                override fun onCrisis(alert: CrisisAlert) { heard.add(alert) }
            })
            val draft = again.screening().drafts().single()
            assertEquals(listOf(q.id(), h, r, "phq9"), listOf(draft.draftId, draft.householdId, draft.residentId, draft.instrument))
            assertEquals(Language.EN, draft.language)
            assertEquals(4u, draft.answered)
            val resumed = again.screening().resume(draft.draftId)
            assertEquals("4", resumed.current()!!.itemId, "where it stood: 1-3 and 9 answered")
            (4..8).forEach { resumed.answer("$it", 0) }
            assertNull(resumed.decline("10"))
            val recorded = again.screening().record(listOf(resumed))
            assertEquals(RiskTier.CRISIS, recorded.tier)
            assertTrue(heard.isEmpty(), "the red flag was alerted before the app was killed, not again")
            assertTrue(again.screening().drafts().isEmpty(), "a recorded sitting is no draft")
            // A discarded interview leaves nothing.
            val other = again.screening().start("gad7", Language.EN, h, r)
            other.answer("1", 1)
            assertEquals(1, again.screening().drafts().size)
            other.discard()
            assertTrue(again.screening().drafts().isEmpty())
            handle.unregister()
            // A device handed back: nothing of the store stays on it.
            again.wipe()
            assertFalse(java.io.File(file).exists())
            assertFailsWith<AnxinException.Closed> { again.screening().drafts() }
            assertFailsWith<AnxinException.Closed> { resumed.answer("1", 0) }
        }
        q.close()
    }

    @Test
    fun theReadModelTakesAVolunteerFromHerTasksToTheDoor() {
        val volunteer = worker(WorkerRole.VOLUNTEER, inGrid = true)
        val dispatcher = worker(WorkerRole.DISPATCHER)
        station.actAs(dispatcher.id)
        val h = station.households().add(grid, AddressInput("百步亭花园", "2栋", "1单元", "201"))
        val r = station.households().addResident(h, ResidentInput("孙", Sex.FEMALE, 1939u, phone = "13900000001"))
        val resident = station.households().residents(h).single()
        assertEquals(Sex.FEMALE to "13900000001", resident.sex to resident.phone)
        val deadline = System.currentTimeMillis() + 3_600_000
        val order = station.orders().create(OrderInput(h, r, OrderKind.MEDICINE_DELIVERY, listOf(OrderItem("胰岛素", 2u, "支")), Urgency.CRITICAL, deadline))
        station.orders().act(order, OrderStep.DispatchToWorker(volunteer.id))
        // Details by id, for the order's screen.
        val details = station.orders().details(order)
        assertEquals(listOf(h, r, volunteer.id), listOf(details.householdId, details.residentId, details.assignedWorker))
        assertEquals(OrderStatus.DISPATCHED to Urgency.CRITICAL, details.status to details.urgency)
        assertEquals(listOf(OrderItem("胰岛素", 2u, "支")), details.items)
        assertEquals(deadline, details.deadline)
        // Her tasks carry what she needs to go to the door.
        station.actAs(volunteer.id)
        val task = station.orders().myTasks().single { it.id == order }
        assertEquals(listOf(h, r, grid), listOf(task.householdId, task.residentId, task.gridId))
        assertEquals(Urgency.CRITICAL, task.urgency)
        assertEquals(deadline, task.deadline)
        // Households in pages.
        val all = station.households().list(grid, 500u)
        val first = station.households().list(grid, 3u)
        val second = station.households().list(grid, 3u, 3u)
        assertEquals(all.take(6), first + second)
        // Hours by period, with what was acknowledged.
        station.orders().act(order, OrderStep.Accept)
        station.orders().act(order, OrderStep.Start)
        station.orders().act(order, OrderStep.Complete(listOf(OrderItem("胰岛素", 2u, "支")), "4821", 40u))
        val now = System.currentTimeMillis()
        val mine = station.orders().hours(volunteer.id, now - 3_600_000, now + 60_000).single()
        assertEquals(40uL, mine.minutes)
        assertEquals(0uL, mine.acknowledgedMinutes)
        // The fixture's earlier work is in earlier periods, and in the whole.
        val earlier = station.orders().hours(volunteer.id, 0, now - 3_600_000).sumOf { it.minutes }
        assertEquals(earlier + 40uL, station.orders().hours(volunteer.id).sumOf { it.minutes })
        station.actAs(dispatcher.id)
        station.orders().acknowledgeHours(volunteer.id, station.orders().hoursEntries(volunteer.id).single { it.sourceId == order }.id)
        assertEquals(40uL, station.orders().hours(volunteer.id, now - 3_600_000, now + 60_000).single().acknowledgedMinutes)
    }

    @Test
    fun anAbandonedSessionHasToldWhatItAppliedAndTheNextOneCompletes() {
        station.actAs(worker(WorkerRole.STATION_ADMIN).id)
        val code = station.admin().enrolDevice(worker(WorkerRole.COUNSELOR).id, listOf("station", "grid:*", "case:main"), 15u, 90u)
        AnxinStore.open(OpenOptions(path("cut.db"), "k")).use { p ->
            val changes = java.util.Collections.synchronizedList(mutableListOf<StoreChange>())
            val handle = p.addStoreListener(object : StoreChangeListener {
                override fun onChange(change: StoreChange) { changes.add(change) }
            })
            val a = p.sync().session(SyncOptions(initiator = true, maxFrameBytes = 1024u, enrolCode = code))
            val b = station.sync().session(SyncOptions(initiator = false, maxFrameBytes = 1024u))
            var toB = a.start()
            var rounds = 0
            // The link breaks, frame by frame, as soon as the first documents were applied.
            fun applied() = changes.any { it.origin == ChangeOrigin.SYNC }
            while (!applied() && rounds < 1000) {
                val toA = toB.flatMap { b.receive(it) }
                val next = mutableListOf<ByteArray>()
                for (frame in toA) {
                    next += a.receive(frame)
                    if (applied()) break
                }
                toB = next
                rounds++
            }
            a.abandon()
            b.abandon()
            assertFalse(a.report().completed)
            val told = changes.toList()
            assertTrue(told.isNotEmpty() && told.all { it.origin == ChangeOrigin.SYNC && !it.removed })
            // What it told of is kept: the households it named are there to read.
            told.filter { it.kind == DocumentKind.HOUSEHOLD }.forEach { p.households().residents(it.id) }
            // The next session picks up from there.
            val (mine, _) = sync(p, station)
            assertTrue(mine.completed, "${mine.error}")
            assertEquals(station.grids(), p.grids())
            handle.unregister()
            a.close()
            b.close()
        }
    }

    @Test
    fun liveListsDeliverTheChangesASyncMade() {
        val volunteer = worker(WorkerRole.VOLUNTEER, inGrid = true)
        val p = phone("live.db", owner = volunteer, scopes = null)
        val households = java.util.concurrent.LinkedBlockingQueue<List<HouseholdInfo>>()
        val tasks = java.util.concurrent.LinkedBlockingQueue<List<QueueItem>>()
        kotlinx.coroutines.runBlocking {
            val collecting = listOf(
                launch(kotlinx.coroutines.Dispatchers.Default) { p.householdsFlow(grid).collect { households.put(it) } },
                launch(kotlinx.coroutines.Dispatchers.Default) { p.myTasksFlow().collect { tasks.put(it) } },
            )
            // The current values first.
            val before = households.poll(20, java.util.concurrent.TimeUnit.SECONDS)!!
            assertTrue(tasks.poll(20, java.util.concurrent.TimeUnit.SECONDS)!!.isEmpty())
            // At the station: a new household, and an order dispatched to the volunteer.
            station.actAs(worker(WorkerRole.DISPATCHER).id)
            val h = station.households().add(grid, AddressInput("百步亭花园", "7栋", "1单元", "301"))
            val order = station.orders().create(OrderInput(h, null, OrderKind.GROCERIES, listOf(OrderItem("米", 1u, "袋")), Urgency.URGENT, null, ""))
            station.orders().act(order, OrderStep.DispatchToWorker(volunteer.id))
            assertFalse(before.any { it.id == h })
            sync(p, station)
            fun <T> until(queue: java.util.concurrent.BlockingQueue<T>, ok: (T) -> Boolean): Boolean {
                val deadline = System.nanoTime() + 20_000_000_000L
                while (System.nanoTime() < deadline) {
                    val next = queue.poll(1, java.util.concurrent.TimeUnit.SECONDS) ?: continue
                    if (ok(next)) return true
                }
                return false
            }
            assertTrue(until(households) { list -> list.any { it.id == h } }, "the household the sync brought")
            assertTrue(until(tasks) { list -> list.any { it.id == order } }, "the task the sync brought")
            collecting.forEach { it.cancel() }
        }
        p.close()
    }

    @Test
    fun aVolunteersDay() {
        val volunteer = worker(WorkerRole.VOLUNTEER, inGrid = true)
        val dispatcher = worker(WorkerRole.DISPATCHER)
        phone("phone.db", owner = volunteer, scopes = null).use { p ->
            val alerts = mutableListOf<CrisisAlert>()
            val crisisHandle = p.addCrisisListener(object : CrisisListener {
                override fun onCrisis(alert: CrisisAlert) { alerts.add(alert) }
            })
            // Canvass a household: insulin runs out in two days.
            val h = p.households().add(grid, AddressInput("百步亭花园", "5栋", "1单元", "502"))
            val r = p.households().addResident(h, ResidentInput("王秀英", Sex.FEMALE, 1942u, "", listOf("elderly_alone", "chronic_illness")))
            p.households().recordVisit(h, listOf(NeedInput(NeedKind.MEDICINE, "胰岛素", 2u, "")), "")
            val row = p.households().list(grid, 200u).first { it.id == h }
            assertEquals(Priority.P1, row.priority)
            assertTrue(row.reasons.contains("critical_medicine"))

            // Screen her; the crisis alert arrives at the red-flag answer.
            val q = p.screening().start("phq9", Language.ZH_HANS, h, r)
            val answers = listOf(1, 1, 1, 0, 0, 1, 0, 0, 2)
            var step = q.current()
            assertEquals("做事时提不起劲或没有兴趣", step!!.text)
            for (value in answers) {
                val result = q.answer(step!!.itemId, value)
                if (step.itemId == "9") {
                    assertEquals(listOf("suicidal_ideation"), result.redFlags)
                    assertEquals(1, alerts.size, "the alert came with the answer, before anything was saved")
                    assertEquals(listOf("suicidal_ideation"), alerts[0].flags)
                    // No C-SSRS texts on this phone: a professional evaluates her.
                    assertTrue(result.assessWith.isEmpty() && alerts[0].assessWith.isEmpty())
                } else {
                    assertTrue(result.redFlags.isEmpty())
                }
                step = result.next
            }
            assertEquals("10", step!!.itemId, "the optional difficulty item comes last")
            assertNull(q.decline("10"))
            val recorded = p.screening().record(listOf(q))
            assertEquals(RiskTier.CRISIS, recorded.tier)
            // Saving the sitting opened its crisis record; the red flag was alerted once,
            // at the answer, and is not raised again.
            val crisis = CrisisRef(recorded.caseId, recorded.crisisId!!)
            assertEquals(1, alerts.size)
            assertEquals(AlertSource.ANSWER, alerts.single().source)
            p.cases().crisisAction(crisis, CrisisStepKind.STAYED_WITH_PERSON, "")
            p.cases().crisisAction(crisis, CrisisStepKind.HANDED_TO_PROFESSIONAL, "")
            assertTrue(p.cases().due(null, 7u).any { it.what == DueKind.CRISIS })
            assertEquals(1u, p.cases().recordVisit(recorded.caseId, 20u, "stayed an hour").openCrises)
            p.cases().addNote(recorded.caseId, "sister informed")
            assertFailsWith<AnxinException.PermissionDenied> { p.cases().assign(recorded.caseId, volunteer.id) }
            crisisHandle.close()

            // An order: recorded on the phone, dispatched at the station (the
            // phone is the volunteer's: it cannot dispatch as anyone else),
            // accepted and completed on the phone.
            val order = p.orders().create(OrderInput(h, r, OrderKind.MEDICINE_DELIVERY, listOf(OrderItem("胰岛素", 2u, "支")), Urgency.CRITICAL, null, ""))
            p.actAs(dispatcher.id)
            assertFailsWith<AnxinException.PermissionDenied> { p.orders().act(order, OrderStep.DispatchToGrid(grid)) }
            p.actAs(volunteer.id)
            sync(p, station)
            station.actAs(dispatcher.id)
            station.orders().act(order, OrderStep.DispatchToGrid(grid))
            assertTrue(station.orders().suggestWorkers(order, 3u).first().sameGrid)
            sync(p, station)
            assertEquals(OrderStatus.ACCEPTED, p.orders().act(order, OrderStep.Accept).status)
            p.orders().act(order, OrderStep.Start)
            val done = p.orders().act(order, OrderStep.Complete(listOf(OrderItem("胰岛素", 2u, "支")), "4821", 40u))
            assertEquals(OrderStatus.COMPLETED, done.status)
            assertTrue(p.orders().hours(volunteer.id).first().minutes >= 40uL)

            // Back at the station: everything goes over, the case file to the
            // case team, and leaves the phone.
            val progress = mutableListOf<ULong>()
            p.addSyncListener(object : SyncProgressListener {
                override fun onProgress(done: ULong, total: ULong) { progress.add(done) }
            }).use {
                val (mine, theirs) = sync(p, station)
                assertTrue(mine.completed && theirs.completed, "${mine.error} ${theirs.error}")
                assertTrue(mine.quarantined.isEmpty() && theirs.quarantined.isEmpty())
            }
            assertTrue(progress.isNotEmpty())
            assertEquals(RiskTier.CRISIS, station.cases().info(recorded.caseId).tier)
            assertFailsWith<AnxinException.NotFound> { p.cases().info(recorded.caseId) }
            val (again, _) = sync(p, station)
            assertTrue(again.completed)
            assertEquals(0u, again.documentsReceived)
            assertTrue(station.admin().check() && p.admin().check())
        }
    }

    @Test
    fun twoPhonesAcceptTheSameOrderAndTheLoserIsTold() {
        val volunteers = station.workers(grid, WorkerRole.VOLUNTEER)
        assertTrue(volunteers.size >= 2)
        val dispatcher = worker(WorkerRole.DISPATCHER)
        station.actAs(dispatcher.id)
        val h = station.households().list(grid, 1u).first().id
        val order = station.orders().create(OrderInput(h, null, OrderKind.GROCERIES, listOf(OrderItem("米", 1u, "袋")), Urgency.URGENT, null, ""))
        station.orders().act(order, OrderStep.DispatchToGrid(grid))
        val first = phone("first.db", owner = volunteers[0], scopes = null)
        val second = phone("second.db", key = null, owner = volunteers[1], scopes = null)
        first.orders().act(order, OrderStep.Accept)
        Thread.sleep(5)
        second.orders().act(order, OrderStep.Accept)
        val told = mutableListOf<OrderConflict>()
        val tasksSeen = mutableListOf<Int>()
        val handle = second.addConflictListener(object : ConflictListener {
            override fun onConflict(conflict: OrderConflict) {
                told.add(conflict)
                // A listener may call back into the store, writes included (an order
                // written here is folded for conflicts again): no deadlock.
                tasksSeen.add(second.orders().myTasks().size)
                second.orders().create(OrderInput(h, null, OrderKind.GROCERIES, listOf(OrderItem("面", 1u, "袋")), Urgency.ROUTINE, null, ""))
            }
        })
        sync(first, station)
        sync(second, station)
        assertEquals(1, told.size)
        assertEquals(1, tasksSeen.size)
        assertEquals(ConflictKind.ACCEPTANCE_LOST, told[0].kind)
        assertEquals(told, second.orders().conflicts(volunteers[1].id))
        assertEquals(order, told[0].orderId)
        handle.close()
        sync(second, first)
        assertEquals(first.admin().exportJson(), second.admin().exportJson())
        first.close()
        second.close()
    }

    @Test
    fun sealedBundlesReachEnrolledPhonesAndImportTwiceHarmlessly() {
        phone("carried.db").use { c ->
            station.actAs(worker(WorkerRole.STATION_ADMIN).id)
            val h = station.households().add(grid, AddressInput("带出小区", "1栋", "1单元", "101"))
            val bundle = station.sync().exportBundle(listOf("station", "grid:$grid"))
            // A misspelt scope is bad input, said before anything is read.
            assertFailsWith<AnxinException.InvalidInput> { station.sync().exportBundle(listOf("stations")) }
            assertFalse(String(bundle, Charsets.ISO_8859_1).contains("带出小区"), "the carrier reads nothing")
            val first = c.sync().importBundle(bundle)
            assertEquals(1u, first.applied)
            val twice = c.sync().importBundle(bundle)
            assertEquals(0u, twice.applied)
            assertEquals(first.documents, twice.unchanged + twice.applied)
            assertTrue(c.households().list(grid, 500u).any { it.id == h })
            AnxinStore.open(OpenOptions(path("stranger.db"), "k", null, null)).use { stranger ->
                assertFailsWith<AnxinException.NotEnrolled> { stranger.sync().importBundle(bundle) }
            }
        }
    }

    @Test
    fun aVolunteersForgedReviewNeverReachesTheCounselorsPhone() {
        val volunteer = worker(WorkerRole.VOLUNTEER, inGrid = true)
        val counselor = worker(WorkerRole.COUNSELOR)
        phone("volunteer.db", owner = volunteer, scopes = null).use { v ->
            phone("counselor.db", owner = counselor).use { c ->
                // The volunteer screens a resident: t2, a review is due.
                val h = v.households().list(grid, 1u).first().id
                val r = v.households().addResident(h, ResidentInput("周", Sex.FEMALE, 1950u, "", emptyList()))
                val q = v.screening().start("phq9", Language.EN, h, r)
                for ((item, value) in listOf("1" to 2, "2" to 2, "3" to 2, "4" to 2, "5" to 2, "6" to 1, "7" to 1, "8" to 0, "9" to 0)) {
                    q.answer(item, value)
                }
                val recorded = v.screening().record(listOf(q), CutoffSet.INTERNATIONAL)
                assertEquals(RiskTier.T2, recorded.tier)
                // Her phone claims to be the counselor and lowers the tier: refused, typed.
                v.actAs(counselor.id)
                assertFailsWith<AnxinException.PermissionDenied> {
                    v.cases().review(recorded.caseId, recorded.screeningId, RiskTier.T0, "fine")
                }
                v.actAs(volunteer.id)
                assertFailsWith<AnxinException.PermissionDenied> {
                    v.cases().review(recorded.caseId, recorded.screeningId, RiskTier.T0, "fine")
                }
                // The sitting reaches the station and the counselor's phone, unreviewed.
                val (up, _) = sync(v, station)
                assertTrue(up.completed && up.quarantined.isEmpty(), "${up.error} ${up.quarantined}")
                val (down, _) = sync(c, station)
                assertTrue(down.completed && down.quarantined.isEmpty(), "${down.error} ${down.quarantined}")
                val seen = c.cases().info(recorded.caseId)
                assertEquals(RiskTier.T2, seen.tier)
                assertEquals(1u, seen.reviewsPending)
                assertNull(seen.screenings.single().reviewedTier)
                // The counselor's own review goes through.
                assertEquals(RiskTier.T1, c.cases().review(recorded.caseId, recorded.screeningId, RiskTier.T1, "assessed").tier)
            }
        }
    }

    @Test
    fun aCounselorWorksFromWhatIsDue() {
        val volunteer = worker(WorkerRole.VOLUNTEER, inGrid = true)
        val counselor = worker(WorkerRole.COUNSELOR)
        station.actAs(volunteer.id)
        val h = station.households().add(grid, AddressInput("百步亭花园", "7栋", "1单元", "303"))
        val r = station.households().addResident(h, ResidentInput("陈", Sex.MALE, 1948u, "", listOf("elderly_alone")))
        assertTrue(station.households().residentsWithTag("elderly_alone", grid).any { it.residentId == r && it.householdId == h })
        assertFailsWith<AnxinException.InvalidInput> { station.households().residentsWithTag("Not a tag!", null) }

        // PHQ-9 of 12, no red flag: t2, a professional review is due.
        val q = station.screening().start("phq9", Language.EN, h, r)
        for ((item, value) in listOf("1" to 2, "2" to 2, "3" to 2, "4" to 2, "5" to 2, "6" to 1, "7" to 1, "8" to 0, "9" to 0)) {
            assertTrue(q.answer(item, value).redFlags.isEmpty())
        }
        assertEquals(12L, q.score(CutoffSet.INTERNATIONAL).score)
        val recorded = station.screening().record(listOf(q), CutoffSet.INTERNATIONAL)
        assertEquals(RiskTier.T2, recorded.tier)
        assertEquals(listOf(CaseSummary(recorded.caseId, r, h, RiskTier.T2, null, 0u, 1u, 0u)), station.cases().list(h))

        // The counselor finds the review in what is due and does it from there.
        station.actAs(counselor.id)
        val review = station.cases().due(null, 2u).single { it.caseId == recorded.caseId && it.what == DueKind.REVIEW }
        assertEquals(recorded.screeningId, review.reference)
        assertEquals(h, review.householdId)
        val pending = station.cases().info(recorded.caseId)
        assertEquals(1u, pending.reviewsPending)
        assertEquals(recorded.screeningId, pending.screenings.single().id)
        assertEquals(volunteer.id, pending.screenings.single().by)
        assertEquals(12L, pending.screenings.single().results.single().score)
        assertTrue(pending.screenings.single().reviewDue != null)
        signAsCounselor()
        val reviewed = station.cases().review(recorded.caseId, review.reference, RiskTier.T3, "assessed in person")
        assertEquals(RiskTier.T3, reviewed.tier)
        assertEquals(RiskTier.T3, reviewed.screenings.single().reviewedTier)
        assertEquals(0u, reviewed.reviewsPending)
        assertTrue(station.cases().due(null, 2u).none { it.reference == recorded.screeningId && it.what == DueKind.REVIEW })

        // A referral, listed with its state and deadline.
        val referral = station.cases().refer(recorded.caseId, RiskTier.T3, "市精神卫生中心", "PHQ-9 moderate, assessed")
        val sent = station.cases().updateReferral(recorded.caseId, referral, ReferralState.SENT, "")
        val listed = sent.referrals.single()
        assertEquals(referral, listed.id)
        assertEquals(ReferralState.SENT, listed.status)
        assertFalse(listed.escalated)
        assertTrue(station.cases().due(null, 2u).any { it.reference == referral && it.what == DueKind.REFERRAL_ACK })
        assertFailsWith<AnxinException.Conflict> {
            station.cases().updateReferral(recorded.caseId, referral, ReferralState.PROPOSED, "")
        }
    }

    @Test
    fun aRedFlagSittingOpensItsCrisisAndK10FollowsTheForm() {
        val volunteer = worker(WorkerRole.VOLUNTEER, inGrid = true)
        station.actAs(volunteer.id)
        val h = station.households().add(grid, AddressInput("百步亭花园", "9栋", "2单元", "101"))
        val r = station.households().addResident(h, ResidentInput("赵", Sex.MALE, 1960u, "", listOf()))
        val alerts = mutableListOf<CrisisAlert>()
        station.addCrisisListener(object : CrisisListener {
            override fun onCrisis(alert: CrisisAlert) { alerts.add(alert) }
        }).use {
            // A t2 sitting, then a red flag.
            val first = station.screening().start("phq9", Language.EN, h, r)
            listOf(2, 2, 2, 2, 1, 1, 0, 0, 0).forEachIndexed { i, v -> first.answer("${i + 1}", v) }
            val t2 = station.screening().record(listOf(first))
            assertEquals(RiskTier.T2, t2.tier)
            // Why, as codes and values an app words in Chinese: a rule of the policy
            // on PHQ-9's total of 10.
            val rule = t2.why.first()
            assertEquals(listOf(TierReasonKind.RULE, RiskTier.T2), listOf(rule.kind, rule.tier))
            assertEquals("phq9" to 10L, rule.instrument to rule.total)
            assertEquals(t2.reasons.size, t2.why.size)
            assertEquals("转介规则", label("tier_reason", "rule", Language.ZH_HANS))
            assertNull(t2.crisisId)
            val second = station.screening().start("phq9", Language.EN, h, r)
            listOf(2, 2, 2, 2, 1, 1, 0, 0, 1).forEachIndexed { i, v -> second.answer("${i + 1}", v) }
            val red = station.screening().record(listOf(second))
            assertEquals(RiskTier.CRISIS, red.tier)
            assertTrue(red.why.any { it.kind == TierReasonKind.RED_FLAG_UNASSESSED && it.flag == "suicidal_ideation" && it.tier == RiskTier.CRISIS })
            val crisisId = red.crisisId!!
            assertEquals(listOf(crisisId), red.openCrisisIds)
            // One alert per red flag: raised at the answer, not again when the sitting
            // was recorded; its id lets an app that stores alerts deduplicate.
            assertEquals(1, alerts.size)
            val alert = alerts.single()
            assertEquals(AlertSource.ANSWER, alert.source)
            assertEquals("9", alert.itemId)
            assertEquals(listOf("suicidal_ideation"), alert.flags)
            assertNull(alert.crisisId)
            assertTrue(alert.alertId.isNotEmpty())
            // It leads what is due, and the case shows it open.
            val due = station.cases().due(null, 7u)
            assertEquals(DueKind.CRISIS, due.first().what)
            assertEquals(crisisId, due.first().reference)
            assertEquals(1u, station.cases().info(red.caseId).openCrises)

            // Reviewing the first sitting down does not hide the red flag.
            signAsCounselor()
            val reviewed = station.cases().review(red.caseId, t2.screeningId, RiskTier.T0, "situational")
            assertEquals(RiskTier.CRISIS, reviewed.tier)
            assertEquals(Priority.P1, station.households().list(grid, 500u).first { it.id == h }.priority)
            station.admin().signAsDevice()
        }

        // K10: the store's policy scores a 1-5 paper form by default.
        station.actAs(volunteer.id)
        val k10 = station.screening().start("k10", Language.EN, h, r)
        assertEquals("1-5", k10.convention())
        assertEquals(listOf(1, 2, 3, 4, 5), k10.current()!!.choices.map { it.value })
        for (i in 1..10) k10.answer("$i", 1)
        val low = k10.score()
        assertEquals(Triple(10L, "1-5", RiskTier.T0), Triple(low.score, low.convention, low.tier))
        assertEquals(CutoffSet.ZH_CN, low.cutoffSet)
        // A 0-4 form, chosen for the sitting: the same ticks are mild (t1).
        val us = station.screening().start("k10", Language.EN, h, r, "0-4")
        assertEquals("0-4", us.convention())
        for (i in 1..10) us.answer("$i", 1)
        val mild = us.score()
        assertEquals(Triple(10L, "0-4", RiskTier.T1), Triple(mild.score, mild.convention, mild.tier))
        assertTrue(mild.reasons.any { it.contains("0-4 scoring") }, mild.reasons.toString())
        assertFailsWith<AnxinException.InvalidInput> { station.screening().start("k10", Language.EN, h, r, "2-6") }
        assertEquals(RiskTier.T1, station.screening().record(listOf(us), CutoffSet.INTERNATIONAL).tier)
    }

    @Test
    fun aCoordinatorSetsUpAStationFromNothing() {
        AnxinStore.open(OpenOptions(path("new.db"), "new key", null, null)).use { s ->
            s.admin().initStation("中南路安心小屋")
            // Nobody can act before the first admin exists; then only once.
            assertFailsWith<AnxinException.NoActingWorker> { s.admin().addCommunity("百步亭社区") }
            val admin = s.admin().addFirstAdmin("张站长", "13800000000")
            assertFailsWith<AnxinException.PermissionDenied> { s.admin().addFirstAdmin("冒名", "13800000009") }
            s.actAs(admin)
            val community = s.admin().addCommunity("百步亭社区")
            val grid = s.admin().addGrid(community, "第1网格")
            assertEquals(listOf("第1网格"), s.grids().map { it.name })
            val volunteer = s.admin().addWorker(WorkerInput("张伟", "13800000001", WorkerRole.VOLUNTEER, grid))
            val dispatcher = s.admin().addWorker(WorkerInput("周调度", "13800000002", WorkerRole.DISPATCHER))
            assertFailsWith<AnxinException.InvalidInput> { s.admin().addWorker(WorkerInput("重复", "13800000001", WorkerRole.VOLUNTEER)) }
            s.admin().assignToGrid(grid, volunteer, lead = true)
            assertEquals(listOf(volunteer to true), s.admin().roster(grid).map { it.workerId to it.lead })
            s.admin().setContactCard(grid, ContactCardInfo("张伟", "13800000001", "8:00-20:00"))
            assertEquals("张伟", s.admin().contactCard(grid).name)
            s.admin().addTraining(volunteer, TrainingInput("心理急救（PFA）基础", "psychological_first_aid", "市心理热线", System.currentTimeMillis(), 40u))
            s.admin().updateWorker(volunteer, WorkerChanges(skills = listOf("driving")))

            // A volunteer may not manage people; a dispatcher runs activities.
            s.actAs(volunteer)
            assertFailsWith<AnxinException.PermissionDenied> { s.admin().addGrid(community, "第2网格") }
            val h = s.households().add(grid, AddressInput("百步亭花园", "3栋", "2单元", "502"))
            val r = s.households().addResident(h, ResidentInput("王秀英", Sex.FEMALE, 1942u, "", listOf("elderly_alone")))
            s.households().updateResident(h, r, ResidentChanges(phone = "13900000009"))
            assertFailsWith<AnxinException.PermissionDenied> {
                s.admin().addActivity(ActivityInput("group_session", "居家情绪互助小组", grid, System.currentTimeMillis(), 90u))
            }
            s.actAs(dispatcher)
            val start = System.currentTimeMillis() - 3_600_000L
            val activity = s.admin().addActivity(ActivityInput("group_session", "居家情绪互助小组", grid, start, 90u, volunteer))
            s.admin().recordAttendance(activity, dispatcher, resident = false, present = true)
            s.admin().recordAttendance(activity, r, resident = true, present = true)
            assertEquals(2u, s.admin().creditActivityHours(activity))
            assertEquals(0u, s.admin().creditActivityHours(activity), "credited once")
            val listed = s.admin().activities(grid, start - 1, start + 1).single()
            assertEquals(Triple(activity, 2u, volunteer), Triple(listed.id, listed.present, listed.facilitatorId))

            // The hours, and the resident who attended acknowledges them.
            val entry = s.orders().hoursEntries(volunteer).single()
            assertEquals(90u, entry.minutes)
            s.orders().acknowledgeHoursAsResident(r, volunteer, entry.id)
            val hours = s.orders().hours(volunteer).single()
            assertEquals(90uL, hours.minutes)
            assertEquals(90uL, hours.acknowledgedMinutes)

            // Deactivated, the dispatcher can no longer act.
            s.actAs(admin)
            s.admin().deactivateWorker(dispatcher)
            s.actAs(dispatcher)
            assertFailsWith<AnxinException.PermissionDenied> { s.admin().creditActivityHours(activity) }
            assertTrue(s.admin().check())
        }
    }

    @Test
    fun aDeploymentsPolicySetsTheDeadlines() {
        val builtin = java.io.File("core/instruments/policy.json").readText()
        val mine = builtin.replace(
            "\"t2\": {\"response_hours\": 72, \"review_hours\": 24",
            "\"t2\": {\"response_hours\": 72, \"review_hours\": 6",
        )
        assertTrue(mine != builtin)
        val bad = assertFailsWith<AnxinException.InvalidInput> {
            AnxinStore.open(OpenOptions(path("bad.db"), null, null, null, mine.replace("\"t1\":", "\"t9\":")))
        }
        assertEquals("policy_json", bad.field)
        AnxinStore.open(OpenOptions(path("deployment.db"), null, null, null, mine)).use { s ->
            s.admin().loadFixture(10u, 3uL)
            val g = s.grids().first().id
            s.actAs(s.workers(g, WorkerRole.VOLUNTEER).first().id)
            val h = s.households().list(g, 1u).first().id
            val r = s.households().residents(h).first().id
            val q = s.screening().start("phq9", Language.EN, h, r)
            listOf(2, 2, 2, 2, 2, 1, 1, 0, 0).forEachIndexed { i, v -> q.answer("${i + 1}", v) }
            val recorded = s.screening().record(listOf(q), CutoffSet.INTERNATIONAL)
            assertEquals(RiskTier.T2, recorded.tier)
            val at = s.cases().info(recorded.caseId).screenings.single().at
            val review = s.cases().due(null, 2u).single { it.reference == recorded.screeningId && it.what == DueKind.REVIEW }
            assertEquals(6L * 3_600_000L, review.dueAt - at, "the deployment's 6 hours, not the built-in 24")
        }
    }

    @Test
    fun licensedTextsAreLoadedFromTheDeploymentsFile() {
        val h = station.households().list(grid, 1u).first().id
        val r = station.households().residents(h).first().id
        val notLoaded = assertFailsWith<AnxinException.InvalidInput> { station.screening().start("cssrs", Language.EN, h, r) }
        assertEquals("cssrs", notLoaded.field)
        // A malformed file is refused, names the file, and changes nothing.
        val bad = assertFailsWith<AnxinException.InvalidInput> {
            station.screening().loadLicensedTexts("cssrs-texts.json", CSSRS_TEXTS.replace("2026.1", "1999.1"))
        }
        assertEquals("cssrs-texts.json", bad.field)
        assertTrue(station.screening().instruments().first { it.id == "cssrs" }.languages.isEmpty())

        val now = station.screening().loadLicensedTexts("cssrs-texts.json", CSSRS_TEXTS)
        assertEquals(listOf(Language.EN), now.first { it.id == "cssrs" }.languages)
        assertEquals(now, station.screening().instruments())
        val alerts = mutableListOf<CrisisAlert>()
        station.addCrisisListener(object : CrisisListener {
            override fun onCrisis(alert: CrisisAlert) { alerts.add(alert) }
        }).use {
            val q = station.screening().start("cssrs", Language.EN, h, r)
            assertEquals("Q1 text", q.current()!!.text)
            val first = q.answer("1", 1)
            assertEquals(listOf("wish_to_be_dead"), first.redFlags)
            assertTrue(first.assessWith.isEmpty(), "the C-SSRS is the assessment")
            // The C-SSRS flow: no suicidal thoughts (Q2 = no) goes straight to Q6.
            assertEquals("6", q.answer("2", 0).next!!.itemId)
            assertEquals(listOf("suicidal_behaviour"), q.answer("6", 1).redFlags)
            assertEquals(listOf(listOf("wish_to_be_dead"), listOf("suicidal_behaviour")), alerts.map { it.flags })
            // With the texts loaded, a red flag on the PHQ-9 leads on to the C-SSRS
            // (in a language the texts exist in).
            val phq9 = station.screening().start("phq9", Language.EN, h, r)
            (1..8).forEach { phq9.answer("$it", 0) }
            val flagged = phq9.answer("9", 1)
            assertEquals(listOf("cssrs"), flagged.assessWith)
            assertEquals(listOf("cssrs"), alerts.last().assessWith)
            val chinese = station.screening().start("phq9", Language.ZH_HANS, h, r)
            (1..8).forEach { chinese.answer("$it", 0) }
            assertTrue(chinese.answer("9", 1).assessWith.isEmpty())
        }
    }
}

/** A deployment's C-SSRS texts file (placeholder wording: the real texts are licensed); run from the repository. */
val CSSRS_TEXTS: String = java.io.File("core/testdata/cssrs-texts.json").readText()
