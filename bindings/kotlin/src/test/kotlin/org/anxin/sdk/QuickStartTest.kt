package org.anxin.sdk

import java.nio.file.Files
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

/**
 * The Kotlin quick start of bindings/README.md, compiled and run: keep the two
 * in step. `transport`, `askRespondent` and `showCrisisPath` stand in for the app.
 */
class QuickStartTest {
    /** The station at the other end of a Bluetooth link. */
    class Transport(station: AnxinStore) {
        private val peer = station.sync().session(SyncOptions(initiator = false, maxFrameBytes = 4096u, enrolCode = null))
        suspend fun exchange(frames: List<ByteArray>): List<ByteArray> = frames.flatMap { peer.receiveAsync(it) }
    }

    @Test
    fun quickStart(): Unit = runBlocking {
        val dir = Files.createTempDirectory("anxin-quickstart").toFile()
        val station = AnxinStore.open(OpenOptions(dir.resolve("station.db").path, null, null, null))
        station.admin().loadFixture(20u, 3uL)
        val gridId = station.grids().first().id
        val volunteerId = station.workers(gridId, WorkerRole.VOLUNTEER).first().id
        val filesDir = dir
        val keyFromKeystore = "a key from the Android Keystore"
        val transport = Transport(station)
        station.actAs(station.workers(null, WorkerRole.STATION_ADMIN).first().id)
        val enrolmentCode = station.admin().enrolDevice(volunteerId, null, 15u, 90u)
        val answers = ArrayDeque(listOf(0, 1, 1, 0, 0, 0, 0, 0, 1, null))
        fun askRespondent(prompt: ItemPrompt): Int? = answers.removeFirst()
        val alerts = mutableListOf<CrisisAlert>()
        fun showCrisisPath(alert: CrisisAlert) { alerts.add(alert) }
        var tier: RiskTier? = null
        val mainExecutor = java.util.concurrent.Executor { it.run() }          // stands in for the UI thread's

        // ---- the quick start, as in bindings/README.md ----
        AnxinStore.open(OpenOptions(path = filesDir.resolve("anxin.db").path, key = keyFromKeystore,
                                    scopes = listOf("station", "grid:$gridId"), actingWorker = null)).use { store ->
            // Enrol with the code the station admin showed (scanned from its QR code):
            // pass frames to the station's session over your transport.
            // Every call that touches the disk has a `suspend` form (…Async) that runs on
            // Anxin's own worker: call them from any coroutine, the main thread included.
            store.sync().enroll(enrolmentCode, 4096u).use { session ->
                var outgoing = session.startAsync()
                while (!session.isFinished()) {
                    val incoming = transport.exchange(outgoing)          // your Bluetooth / Nearby code
                    outgoing = incoming.flatMap { session.receiveAsync(it) }
                }
            }
            store.actAsAsync(volunteerId)

            // Canvass.
            val household = store.households().addAsync(gridId, AddressInput("百步亭花园", "5栋", "1单元", "502"))
            val resident = store.households().addResidentAsync(household, ResidentInput("王秀英", Sex.FEMALE, 1942u, "", listOf("elderly_alone")))
            store.households().recordVisitAsync(household, listOf(NeedInput(NeedKind.MEDICINE, "胰岛素", 2u, "")), "")

            // Screen, hearing of a red flag at the answer that raises it (on the executor
            // you choose: on Android, ContextCompat.getMainExecutor(context)). The listener
            // stays registered until unregister() or the store closes.
            val crisisListener = store.addCrisisListener(object : CrisisListener {
                override fun onCrisis(alert: CrisisAlert) = showCrisisPath(alert)   // do not leave the person alone
            }.on(mainExecutor))
            try {
                val q = store.screening().startAsync("phq9", Language.ZH_HANS, household, resident, null)
                var prompt = q.current()
                while (prompt != null) {
                    val value = askRespondent(prompt)                       // prompt.text, prompt.choices
                    prompt = if (value == null) q.declineAsync(prompt.itemId) else q.answerAsync(prompt.itemId, value).next
                }
                val recorded = store.screening().recordAsync(listOf(q), CutoffSet.ZH_CN)
                tier = recorded.tier                                    // a crisis sitting opened its crisis record
            } finally {
                crisisListener.unregister()
            }
        }
        // ---- end of the quick start ----

        assertEquals(RiskTier.CRISIS, tier)
        assertEquals(listOf(listOf("suicidal_ideation")), alerts.map { it.flags }, "heard once, at the answer")
        station.close()
        dir.deleteRecursively()
    }
}
