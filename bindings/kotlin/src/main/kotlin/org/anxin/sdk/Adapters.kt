package org.anxin.sdk

import java.util.concurrent.Executor
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.conflate
import kotlinx.coroutines.launch

// Hand-written adapters shipped with the generated bindings: listeners on an
// executor the app chooses, and live lists as Flows. Everything here calls
// the generated API only.

/** This listener, called on [executor] (e.g. `ContextCompat.getMainExecutor(context)`). */
fun CrisisListener.on(executor: Executor): CrisisListener {
    val inner = this
    return object : CrisisListener {
        override fun onCrisis(alert: CrisisAlert) = executor.execute { inner.onCrisis(alert) }
    }
}

/** This listener, called on [executor]. */
fun StoreChangeListener.on(executor: Executor): StoreChangeListener {
    val inner = this
    return object : StoreChangeListener {
        override fun onChange(change: StoreChange) = executor.execute { inner.onChange(change) }
    }
}

/** This listener, called on [executor]. */
fun ConflictListener.on(executor: Executor): ConflictListener {
    val inner = this
    return object : ConflictListener {
        override fun onConflict(conflict: OrderConflict) = executor.execute { inner.onConflict(conflict) }
    }
}

/** This listener, called on [executor]. */
fun SyncProgressListener.on(executor: Executor): SyncProgressListener {
    val inner = this
    return object : SyncProgressListener {
        override fun onProgress(done: ULong, total: ULong) = executor.execute { inner.onProgress(done, total) }
    }
}

/**
 * A live list: the current value of [read], then a fresh one after every change (a call on
 * this device, a sync, a bundle) to a document [matters] accepts. Reads run on Anxin's read
 * worker; a burst of changes gives one read (the Flow is conflated). Collecting stops
 * listening.
 */
fun <T> AnxinStore.liveQuery(matters: (StoreChange) -> Boolean, read: suspend AnxinStore.() -> T): Flow<T> {
    val store = this
    return callbackFlow {
        val dirty = Channel<Unit>(Channel.CONFLATED)
        val handle = store.addStoreListener(object : StoreChangeListener {
            override fun onChange(change: StoreChange) {
                if (matters(change)) dirty.trySend(Unit)
            }
        })
        launch {
            send(store.read())
            for (signal in dirty) send(store.read())
        }
        awaitClose {
            handle.unregister()
            dirty.close()
        }
    }.conflate()
}

/** The acting worker's tasks, live: the current list and every change (orders). */
fun AnxinStore.myTasksFlow(): Flow<List<QueueItem>> =
    liveQuery({ it.kind == DocumentKind.ORDER }) { orders().myTasksAsync() }

/** What is due on cases (of [workerId], or all), live. */
fun AnxinStore.casesDueFlow(workerId: String? = null, days: UInt = 7u): Flow<List<DueItem>> =
    liveQuery({ it.kind == DocumentKind.CASE_FILE }) { cases().dueAsync(workerId, days) }

/** A grid's households in triage order, live (households and their orders change it). */
fun AnxinStore.householdsFlow(gridId: String, limit: UInt = 500u): Flow<List<HouseholdInfo>> =
    liveQuery({ it.kind == DocumentKind.HOUSEHOLD || it.kind == DocumentKind.ORDER }) { households().listAsync(gridId, limit, 0u) }
