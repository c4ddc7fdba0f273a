// The Swift twin of bindings/kotlin/src/test/kotlin/org/anxin/sdk/AnxinSdkTest.kt:
// the same scenarios against the same library. No Swift compiler exists on
// the machine that builds Anxin's CI; run these with `swift test` on a Mac.
import Foundation
import XCTest
@testable import Anxin

/// Passes frames between two sessions until both are done, as a phone's transport would.
func sync(_ initiator: AnxinStore, _ responder: AnxinStore, enrolCode: String? = nil, frame: UInt32 = 4096) throws -> (SyncReport, SyncReport) {
    let a = try initiator.sync().session(options: SyncOptions(initiator: true, maxFrameBytes: frame, enrolCode: enrolCode))
    let b = try responder.sync().session(options: SyncOptions(initiator: false, maxFrameBytes: frame, enrolCode: nil))
    var toB = try a.start()
    for _ in 0..<1000 {
        let toA = try toB.flatMap { try b.receive(frame: $0) }
        toB = try toA.flatMap { try a.receive(frame: $0) }
        if toA.isEmpty && toB.isEmpty { break }
    }
    XCTAssertTrue(try a.isFinished() && b.isFinished(), "the session ended")
    return (try a.report(), try b.report())
}

final class Collect<T>: @unchecked Sendable {
    var items: [T] = []
}

final class StoreChanges: StoreChangeListener, @unchecked Sendable {
    let seen = Collect<StoreChange>()
    func onChange(change: StoreChange) { seen.items.append(change) }
}

final class Crises: CrisisListener, @unchecked Sendable {
    let seen = Collect<CrisisAlert>()
    func onCrisis(alert: CrisisAlert) { seen.items.append(alert) }
}

final class Conflicts: ConflictListener, @unchecked Sendable {
    let seen = Collect<OrderConflict>()
    func onConflict(conflict: OrderConflict) { seen.items.append(conflict) }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

/// Hears conflicts and calls back into the store it listens to, writes included.
final class ConflictsCallingBack: ConflictListener, @unchecked Sendable {
    let seen = Collect<OrderConflict>()
    let tasksSeen = Collect<Int>()
    let store: AnxinStore
    let household: String
    init(_ store: AnxinStore, household: String) { self.store = store; self.household = household }
    func onConflict(conflict: OrderConflict) {
        seen.items.append(conflict)
        tasksSeen.items.append((try? store.orders().myTasks().count) ?? -1)
        _ = try? store.orders().create(order: OrderInput(householdId: household, residentId: nil, kind: .groceries, items: [OrderItem(name: "面", quantity: 1, unit: "袋")], urgency: .routine, deadline: nil, note: ""))
    }
}

final class Progress: SyncProgressListener, @unchecked Sendable {
    let seen = Collect<UInt64>()
    func onProgress(done: UInt64, total: UInt64) { seen.items.append(done) }
}

final class AnxinSdkTests: XCTestCase {
    var dir: URL!
    var station: AnxinStore!
    var grid: String!

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func worker(_ role: WorkerRole, inGrid: Bool = false) throws -> WorkerInfo {
        try station.workers(gridId: inGrid ? grid : nil, role: role).first!
    }

    /// The counselor signs at the station's laptop with her own identity file, issued by the
    /// station admin: a professional's sign-off is never the station's.
    func signAsCounselor() throws {
        try station.actAs(workerId: try worker(.stationAdmin).id)
        let file = try station.admin().issueIdentity(workerId: try worker(.counselor).id, days: 30, passphrase: "her own passphrase")
        XCTAssertThrowsError(try station.admin().signAs(identity: file, passphrase: "not hers at all"))
        try station.admin().signAs(identity: file, passphrase: "her own passphrase")
    }

    /// A phone enrolled for `owner` (by default the first counselor, with every grid and the
    /// case team); it then acts as its owner and no one else.
    func phone(_ name: String, key: String? = "phone key", owner: WorkerInfo? = nil, scopes: [String]? = ["station", "grid:*", "case:main"]) throws -> AnxinStore {
        // No scopes of its own: it holds what its credential grants.
        let p = try AnxinStore.open(options: OpenOptions(path: path(name), key: key, scopes: nil, actingWorker: nil))
        let owner = try owner ?? worker(.counselor)
        try station.actAs(workerId: try worker(.stationAdmin).id)
        let code = try station.admin().enrolDevice(workerId: owner.id, scopes: scopes, codeMinutes: 15, credentialDays: 90)
        let (mine, _) = try sync(p, station, enrolCode: code)
        XCTAssertTrue(mine.completed, mine.error ?? "")
        try p.actAs(workerId: owner.id)
        return p
    }

    func testAPhoneEnrolsFromACodeOnceAndARevokedPhoneIsRefused() throws {
        try station.actAs(workerId: try worker(.stationAdmin).id)
        let volunteer = try worker(.volunteer, inGrid: true)
        let code = try station.admin().enrolDevice(workerId: volunteer.id, scopes: nil, codeMinutes: 15, credentialDays: 90)
        let p = try AnxinStore.open(options: OpenOptions(path: path("enrolled.db"), key: "k", scopes: nil, actingWorker: nil))
        XCTAssertThrowsError(try p.sync().session(options: SyncOptions(initiator: true, maxFrameBytes: 4096, enrolCode: nil)).start()) {
            guard case AnxinError.NotEnrolled = $0 else { return XCTFail("\($0)") }
        }
        let s = try p.sync().enroll(code: code, maxFrameBytes: 4096)
        let b = try station.sync().session(options: SyncOptions(initiator: false, maxFrameBytes: 4096, enrolCode: nil))
        var out = try s.start()
        while try !s.isFinished() { out = try out.flatMap { try b.receive(frame: $0) }.flatMap { try s.receive(frame: $0) } }
        XCTAssertTrue(try s.report().completed, try s.report().error ?? "")
        XCTAssertFalse(try p.households().list(gridId: grid, limit: 100).isEmpty)
        let mine = try station.admin().devices().first { $0.workerId == volunteer.id }!
        XCTAssertEqual(mine.role, .volunteer)
        XCTAssertTrue(mine.scopes.allSatisfy { !$0.hasPrefix("case:") })
        let again = try AnxinStore.open(options: OpenOptions(path: path("again.db"), key: "k", scopes: nil, actingWorker: nil))
        XCTAssertThrowsError(try sync(again, station, enrolCode: code)) {
            guard case AnxinError.Unauthorized(let reason) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("already used"))
        }
        XCTAssertThrowsError(try again.sync().enroll(code: "AX1 not a code", maxFrameBytes: 4096))
        try station.admin().revokeDevice(deviceId: mine.deviceId)
        XCTAssertTrue(try station.admin().devices().first { $0.deviceId == mine.deviceId }!.revoked)
        XCTAssertThrowsError(try sync(p, station)) {
            guard case AnxinError.Revoked = $0 else { return XCTFail("\($0)") }
        }
    }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        station = try AnxinStore.open(options: OpenOptions(path: path("station.db"), key: "station key", scopes: nil, actingWorker: nil))
        try station.admin().loadFixture(households: 30, seed: 7)
        grid = try station.grids().first!.id
    }

    override func tearDownWithError() throws {
        station = nil
        try? FileManager.default.removeItem(at: dir)
    }

    func testRecordsAndEnumsCrossTheBoundary() throws {
        let instruments = try station.screening().instruments()
        XCTAssertEqual(instruments.count, 18)
        let phq9 = instruments.first { $0.id == "phq9" }!
        XCTAssertEqual(phq9.languages, [.zhHans, .zhHant, .en])
        XCTAssertTrue(instruments.first { $0.id == "cssrs" }!.languages.isEmpty)
        let v = try worker(.volunteer, inGrid: true)
        XCTAssertEqual(v.role, .volunteer)
        XCTAssertEqual(v.gridId, grid)
        XCTAssertFalse(try station.households().list(gridId: grid, limit: 100).isEmpty)
        XCTAssertFalse(anxinVersion().isEmpty)
    }

    func testEveryCodeHasWordsInThreeLanguagesAndPlatformTagsWork() throws {
        let tags: [(String, Language)] = [("zh-Hans-CN", .zhHans), ("zh_CN", .zhHans), ("zh", .zhHans),
                                          ("zh_Hant_TW", .zhHant), ("zh-HK", .zhHant), ("zh-Hant", .zhHant),
                                          ("en-US", .en), ("en_GB", .en)]
        for (tag, language) in tags { XCTAssertEqual(try languageFromTag(tag: tag), language, tag) }
        XCTAssertThrowsError(try languageFromTag(tag: "fr-FR"))
        let zh = try labels(language: try languageFromTag(tag: "zh-Hans-CN"))
        let en = try labels(language: .en)
        let hant = try labels(language: try languageFromTag(tag: "zh_Hant_TW"))
        XCTAssertEqual(en.map { "\($0.vocabulary)/\($0.code)" }, zh.map { "\($0.vocabulary)/\($0.code)" })
        XCTAssertEqual(en.count, hant.count)
        XCTAssertGreaterThan(en.count, 100)
        XCTAssertEqual(zh.first { $0.vocabulary == "tier" && $0.code == "t2" }!.text, "二级（心理咨询）")
        XCTAssertEqual(try label(vocabulary: "tag", code: "elderly_alone", language: .zhHant), "獨居老人")
        XCTAssertEqual(try label(vocabulary: "reason", code: "critical_medicine", language: .zhHans), "药品即将断供")
        XCTAssertEqual(try label(vocabulary: "tag", code: "dialysis_patient", language: .zhHans), "dialysis_patient")
        XCTAssertThrowsError(try label(vocabulary: "colour", code: "red", language: .en))
        XCTAssertTrue(knownTags().contains("elderly_alone"))
        XCTAssertTrue(knownTags().allSatisfy { t in zh.contains { $0.vocabulary == "tag" && $0.code == t } })
        func covered<E: CaseIterable>(_ vocabulary: String, _ values: E.Type) {
            for v in values.allCases {
                let code = String(describing: v).replacingOccurrences(of: "([a-z0-9])([A-Z])", with: "$1_$2", options: .regularExpression).lowercased()
                XCTAssertTrue(zh.contains { $0.vocabulary == vocabulary && $0.code == code }, "\(vocabulary)/\(code)")
            }
        }
        covered("sex", Sex.self)
        covered("need_kind", NeedKind.self)
        covered("order_kind", OrderKind.self)
        covered("urgency", Urgency.self)
        covered("order_status", OrderStatus.self)
        covered("priority", Priority.self)
        covered("due_kind", DueKind.self)
        covered("conflict_kind", ConflictKind.self)
    }

    func testEveryErrorVariantIsTyped() throws {
        try station.actAs(workerId: try worker(.volunteer, inGrid: true).id)
        XCTAssertThrowsError(try station.households().residents(householdId: "6f1d0b8e-6a0c-4c39-9d3b-7d5f2a1c0e11")) {
            guard case AnxinError.NotFound = $0 else { return XCTFail("\($0)") }
        }
        let household = try station.households().list(gridId: grid, limit: 1).first!.id
        XCTAssertThrowsError(try station.households().addResident(householdId: household, resident: ResidentInput(name: "测试", sex: .female, birthYear: 1800, phone: "", tags: []))) {
            guard case let AnxinError.InvalidInput(field, violation, min, max, reason) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(field, "resident.birth_year")
            XCTAssertEqual(violation, "out_of_range")
            XCTAssertNotNil(min)
            XCTAssertNotNil(max)
            XCTAssertFalse(reason.contains("测试"))
        }
        let resident = try station.households().residents(householdId: household).first!.id
        let q = try station.screening().start(instrument: "phq9", language: .en, householdId: household, residentId: resident)
        XCTAssertThrowsError(try q.answer(itemId: "1", value: 7)) {
            guard case let AnxinError.InvalidInput(field, _, _, _, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(field, "phq9 item 1")
        }
        let crisis = try station.cases().openCrisis(householdId: household, residentId: resident, reason: "test")
        XCTAssertThrowsError(try station.cases().closeCrisis(crisis: crisis, tierAfter: .t2, note: "")) {
            guard case let AnxinError.PermissionDenied(action, rule, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(action, "close_crisis")
            XCTAssertEqual(rule, "only_professional")
            XCTAssertEqual(try? label(vocabulary: "rule", code: rule, language: .zhHans), "只有心理咨询师或医护人员可以")
        }
        try station.actAs(workerId: try worker(.counselor).id)
        XCTAssertThrowsError(try station.cases().closeCrisis(crisis: crisis, tierAfter: .t1, note: "")) {
            guard case AnxinError.PermissionDenied = $0 else { return XCTFail("\($0)") }
        }
        try signAsCounselor()
        _ = try station.cases().closeCrisis(crisis: crisis, tierAfter: .t1, note: "")
        XCTAssertThrowsError(try station.cases().crisisAction(crisis: crisis, step: .other, note: "")) {
            guard case let AnxinError.Conflict(action, status, statusVocabulary, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual([action, status, statusVocabulary], ["act_on_crisis", "closed", "crisis_state"])
        }
        try station.admin().signAsDevice()
        XCTAssertThrowsError(try AnxinStore.open(options: OpenOptions(path: path("station.db"), key: "wrong key", scopes: nil, actingWorker: nil))) {
            guard case AnxinError.KeyRejected = $0 else { return XCTFail("\($0)") }
        }
        #if os(macOS)  // a child process: `swift test` on a Mac
        _ = try AnxinStore.open(options: OpenOptions(path: path("newer.db"), key: nil, scopes: nil, actingWorker: nil))
        let bump = Process()
        bump.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        bump.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version = 999'); c.commit()", path("newer.db")]
        try bump.run()
        bump.waitUntilExit()
        XCTAssertEqual(bump.terminationStatus, 0)
        XCTAssertThrowsError(try AnxinStore.open(options: OpenOptions(path: path("newer.db"), key: nil, scopes: nil, actingWorker: nil))) {
            guard case let AnxinError.StoreTooNew(found, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(found, 999)
        }
        #endif
        XCTAssertThrowsError(try AnxinStore.open(options: OpenOptions(path: path("no-such-folder/x.db"), key: nil, scopes: nil, actingWorker: nil))) {
            guard case AnxinError.Storage = $0 else { return XCTFail("\($0)") }
        }
        let nobody = try AnxinStore.open(options: OpenOptions(path: path("nobody.db"), key: nil, scopes: nil, actingWorker: nil))
        try nobody.admin().loadFixture(households: 3, seed: 1)
        XCTAssertThrowsError(try nobody.households().add(gridId: try nobody.grids().first!.id, address: AddressInput(compound: "a", building: "b", unit: "c", room: "d"))) {
            guard case AnxinError.NoActingWorker = $0 else { return XCTFail("\($0)") }
        }
        let before = try station.admin().exportJson()
        XCTAssertThrowsError(try station.sync().importBundle(bytes: Data([1, 2, 3]))) {
            guard case AnxinError.Sync = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(before, try station.admin().exportJson())
        XCTAssertThrowsError(try diagnosticsPanicIsAnError()) {
            guard case AnxinError.Internal = $0 else { return XCTFail("\($0)") }
        }
    }

    func testAListenerStaysWithoutItsHandleAndHearsEveryDocumentUntilUnregistered() throws {
        try station.actAs(workerId: try worker(.volunteer, inGrid: true).id)
        let changes = StoreChanges()
        // The app keeps no reference to the handle: the listener must still hear everything.
        var handle: ListenerHandle? = try station.addStoreListener(listener: changes)
        let kept = handle!
        handle = nil
        let h = try station.households().add(gridId: grid, address: AddressInput(compound: "百步亭花园", building: "3栋", unit: "2单元", room: "101"))
        XCTAssertEqual(changes.seen.items, [StoreChange(kind: .household, id: h, origin: .thisDevice, removed: false)])
        let r = try station.households().addResident(householdId: h, resident: ResidentInput(name: "李", sex: .male, birthYear: 1950, phone: "", tags: []))
        XCTAssertEqual(changes.seen.items.last, StoreChange(kind: .household, id: h, origin: .thisDevice, removed: false))
        try station.households().setResidentTag(householdId: h, residentId: r, tag: "disabled", present: true)
        XCTAssertEqual(try station.households().residents(householdId: h).first!.tags, ["disabled"])
        let before = changes.seen.items.count
        XCTAssertThrowsError(try station.households().moveHousehold(householdId: h, toGridId: try station.grids().last!.id))
        XCTAssertEqual(changes.seen.items.count, before)
        let q = try station.screening().start(instrument: "phq9", language: .en, householdId: h, residentId: r)
        for (i, v) in [0, 0, 0, 0, 0, 0, 0, 0, 1].enumerated() { _ = try q.answer(itemId: "\(i + 1)", value: Int32(v)) }
        let recorded = try station.screening().record(questionnaires: [q])
        XCTAssertEqual(changes.seen.items.last, StoreChange(kind: .caseFile, id: recorded.caseId, origin: .thisDevice, removed: false))
        kept.unregister()
        let after = changes.seen.items.count
        _ = try station.households().add(gridId: grid, address: AddressInput(compound: "百步亭花园", building: "3栋", unit: "2单元", room: "102"))
        XCTAssertEqual(changes.seen.items.count, after)
    }

    func testAReadFinishesWhileALongSyncIsApplyingDocuments() throws {
        try station.actAs(workerId: try worker(.stationAdmin).id)
        for seed in 20..<23 { try station.admin().loadFixture(households: 60, seed: UInt64(seed)) }
        let code = try station.admin().enrolDevice(workerId: try worker(.counselor).id, scopes: ["station", "grid:*", "case:main"], codeMinutes: 15, credentialDays: 90)
        let p = try AnxinStore.open(options: OpenOptions(path: path("reading.db"), key: "k", scopes: nil, actingWorker: nil))
        let inside = Counter()
        let done = DispatchSemaphore(value: 0)
        let station = self.station!
        Thread.detachNewThread {
            defer { done.signal() }
            guard let a = try? p.sync().session(options: SyncOptions(initiator: true, maxFrameBytes: 60_000, enrolCode: code)),
                  let b = try? station.sync().session(options: SyncOptions(initiator: false, maxFrameBytes: 60_000, enrolCode: nil)),
                  var toB = try? a.start() else { return }
            for _ in 0..<1000 {
                let toA = (try? toB.flatMap { try b.receive(frame: $0) }) ?? []
                toB = toA.flatMap { (frame: Data) -> [Data] in
                    inside.add()
                    defer { inside.add() }
                    return (try? a.receive(frame: frame)) ?? []
                }
                if toA.isEmpty && toB.isEmpty { break }
            }
        }
        var withinOneReceive: [Int: Int] = [:]
        while done.wait(timeout: .now()) == .timedOut {
            let before = inside.value
            let finished = DispatchSemaphore(value: 0)
            Task { _ = try? await p.gridsAsync(); finished.signal() }
            finished.wait()
            if before % 2 == 1 && inside.value == before { withinOneReceive[before, default: 0] += 1 }
        }
        XCTAssertGreaterThanOrEqual(withinOneReceive.values.max() ?? 0, 5)
        XCTAssertEqual(try station.grids(), try p.grids())
    }

    func testClosingTheStoreClosesItsDatabaseAndWhatIsLeftFailsTyped() throws {
        let volunteer = try worker(.volunteer, inGrid: true)
        var store: AnxinStore? = try AnxinStore.open(options: OpenOptions(path: path("closing.db"), key: "k", scopes: nil, actingWorker: volunteer.id))
        try store!.admin().loadFixture(households: 5, seed: 3)
        let g = try store!.grids().first!.id
        let h = try store!.households().list(gridId: g, limit: 1).first!.id
        let q = try store!.screening().start(instrument: "phq9", language: .en, householdId: h, residentId: try store!.households().residents(householdId: h).first!.id)
        _ = try q.answer(itemId: "1", value: 0)
        let session = try store!.sync().session(options: SyncOptions(initiator: true, maxFrameBytes: 4096, enrolCode: nil))
        let households = store!.households()
        // Releasing the last reference closes the store (Swift cannot call a
        // released object, so there is no use-after-close of the store itself).
        store = nil
        XCTAssertThrowsError(try q.answer(itemId: "2", value: 0)) {
            guard case AnxinError.Closed = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try session.start()) {
            guard case AnxinError.Closed = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try households.list(gridId: g, limit: 1)) {
            guard case AnxinError.Closed = $0 else { return XCTFail("\($0)") }
        }
        let again = try AnxinStore.open(options: OpenOptions(path: path("closing.db"), key: "k", scopes: nil, actingWorker: nil))
        XCTAssertTrue(try again.admin().check())
    }

    func testAnInterviewResumesAfterTheStoreIsReopenedWithoutAlertingTwiceAndWipeLeavesNothing() throws {
        let file = path("interview.db")
        var first: AnxinStore? = try AnxinStore.open(options: OpenOptions(path: file, key: "k", scopes: nil, actingWorker: nil))
        try first!.admin().loadFixture(households: 5, seed: 9)
        let volunteer = try first!.workers(gridId: nil, role: .volunteer).first!.id
        try first!.actAs(workerId: volunteer)
        let h = try first!.households().list(gridId: try first!.grids().first!.id, limit: 1).first!.id
        let r = try first!.households().residents(householdId: h).first!.id
        let alerts = Crises()
        _ = try first!.addCrisisListener(listener: alerts)
        let q = try first!.screening().start(instrument: "phq9", language: .en, householdId: h, residentId: r)
        for (item, v) in [("1", 1), ("2", 2), ("3", 0)] { _ = try q.answer(itemId: item, value: Int32(v)) }
        XCTAssertEqual(try q.answer(itemId: "9", value: 1).redFlags, ["suicidal_ideation"])
        XCTAssertEqual(alerts.seen.items.count, 1)
        first = nil

        let again = try AnxinStore.open(options: OpenOptions(path: file, key: "k", scopes: nil, actingWorker: volunteer))
        let heard = Crises()
        let handle = try again.addCrisisListener(listener: heard)
        let drafts = try again.screening().drafts()
        XCTAssertEqual(drafts.count, 1)
        let draft = drafts[0]
        XCTAssertEqual([draft.draftId, draft.householdId, draft.residentId, draft.instrument], [q.id(), h, r, "phq9"])
        XCTAssertEqual(draft.language, .en)
        XCTAssertEqual(draft.answered, 4)
        let resumed = try again.screening().resume(draftId: draft.draftId)
        XCTAssertEqual(try resumed.current()?.itemId, "4")
        for item in 4...8 { _ = try resumed.answer(itemId: "\(item)", value: 0) }
        XCTAssertNil(try resumed.decline(itemId: "10"))
        let recorded = try again.screening().record(questionnaires: [resumed])
        XCTAssertEqual(recorded.tier, .crisis)
        XCTAssertTrue(heard.seen.items.isEmpty)
        XCTAssertTrue(try again.screening().drafts().isEmpty)
        let other = try again.screening().start(instrument: "gad7", language: .en, householdId: h, residentId: r)
        _ = try other.answer(itemId: "1", value: 1)
        XCTAssertEqual(try again.screening().drafts().count, 1)
        try other.discard()
        XCTAssertTrue(try again.screening().drafts().isEmpty)
        handle.unregister()
        try again.wipe()
        XCTAssertFalse(FileManager.default.fileExists(atPath: file))
        XCTAssertThrowsError(try again.screening().drafts()) {
            guard case AnxinError.Closed = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try resumed.answer(itemId: "1", value: 0)) {
            guard case AnxinError.Closed = $0 else { return XCTFail("\($0)") }
        }
    }

    func testTheReadModelTakesAVolunteerFromHerTasksToTheDoor() throws {
        let volunteer = try worker(.volunteer, inGrid: true)
        let dispatcher = try worker(.dispatcher)
        try station.actAs(workerId: dispatcher.id)
        let h = try station.households().add(gridId: grid, address: AddressInput(compound: "百步亭花园", building: "2栋", unit: "1单元", room: "201"))
        let r = try station.households().addResident(householdId: h, resident: ResidentInput(name: "孙", sex: .female, birthYear: 1939, phone: "13900000001"))
        let resident = try station.households().residents(householdId: h).first!
        XCTAssertEqual(resident.sex, .female)
        XCTAssertEqual(resident.phone, "13900000001")
        let deadline = Int64(Date().timeIntervalSince1970 * 1000) + 3_600_000
        let order = try station.orders().create(order: OrderInput(householdId: h, residentId: r, kind: .medicineDelivery, items: [OrderItem(name: "胰岛素", quantity: 2, unit: "支")], urgency: .critical, deadline: deadline))
        _ = try station.orders().act(orderId: order, action: .dispatchToWorker(workerId: volunteer.id))
        let details = try station.orders().details(orderId: order)
        XCTAssertEqual([details.householdId, details.residentId, details.assignedWorker], [h, r, volunteer.id])
        XCTAssertEqual(details.status, .dispatched)
        XCTAssertEqual(details.urgency, .critical)
        XCTAssertEqual(details.items, [OrderItem(name: "胰岛素", quantity: 2, unit: "支")])
        XCTAssertEqual(details.deadline, deadline)
        try station.actAs(workerId: volunteer.id)
        let task = try station.orders().myTasks().first { $0.id == order }!
        XCTAssertEqual([task.householdId, task.residentId, task.gridId], [h, r, grid])
        XCTAssertEqual(task.urgency, .critical)
        XCTAssertEqual(task.deadline, deadline)
        let all = try station.households().list(gridId: grid, limit: 500)
        let first = try station.households().list(gridId: grid, limit: 3)
        let second = try station.households().list(gridId: grid, limit: 3, offset: 3)
        XCTAssertEqual(Array(all.prefix(6)), first + second)
        _ = try station.orders().act(orderId: order, action: .accept)
        _ = try station.orders().act(orderId: order, action: .start)
        _ = try station.orders().act(orderId: order, action: .complete(handedOver: [OrderItem(name: "胰岛素", quantity: 2, unit: "支")], confirmationCode: "4821", minutes: 40))
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let mine = try station.orders().hours(workerId: volunteer.id, from: now - 3_600_000, to: now + 60_000)
        XCTAssertEqual(mine.first?.minutes, 40)
        XCTAssertEqual(mine.first?.acknowledgedMinutes, 0)
        let earlier = try station.orders().hours(workerId: volunteer.id, from: 0, to: now - 3_600_000).reduce(0) { $0 + $1.minutes }
        XCTAssertEqual(try station.orders().hours(workerId: volunteer.id).reduce(0) { $0 + $1.minutes }, earlier + 40)
        try station.actAs(workerId: dispatcher.id)
        let entry = try station.orders().hoursEntries(workerId: volunteer.id).first { $0.sourceId == order }!
        try station.orders().acknowledgeHours(workerId: volunteer.id, entryId: entry.id)
        XCTAssertEqual(try station.orders().hours(workerId: volunteer.id, from: now - 3_600_000, to: now + 60_000).first?.acknowledgedMinutes, 40)
    }

    func testAnAbandonedSessionHasToldWhatItAppliedAndTheNextOneCompletes() throws {
        try station.actAs(workerId: try worker(.stationAdmin).id)
        let code = try station.admin().enrolDevice(workerId: try worker(.counselor).id, scopes: ["station", "grid:*", "case:main"], codeMinutes: 15, credentialDays: 90)
        let p = try AnxinStore.open(options: OpenOptions(path: path("cut.db"), key: "k"))
        let changes = StoreChanges()
        let handle = try p.addStoreListener(listener: changes)
        let a = try p.sync().session(options: SyncOptions(initiator: true, maxFrameBytes: 1024, enrolCode: code))
        let b = try station.sync().session(options: SyncOptions(initiator: false, maxFrameBytes: 1024))
        var toB = try a.start()
        var rounds = 0
        func applied() -> Bool { changes.seen.items.contains { $0.origin == .sync } }
        while !applied() && rounds < 1000 {
            let toA = try toB.flatMap { try b.receive(frame: $0) }
            var next: [Data] = []
            for frame in toA {
                next += try a.receive(frame: frame)
                if applied() { break }
            }
            toB = next
            rounds += 1
        }
        try a.abandon()
        try b.abandon()
        XCTAssertFalse(try a.report().completed)
        let told = changes.seen.items
        XCTAssertTrue(!told.isEmpty && told.allSatisfy { $0.origin == .sync && !$0.removed })
        for change in told where change.kind == .household { _ = try p.households().residents(householdId: change.id) }
        let (mine, _) = try sync(p, station)
        XCTAssertTrue(mine.completed, mine.error ?? "")
        XCTAssertEqual(try station.grids(), try p.grids())
        handle.unregister()
    }

    func testLiveListsDeliverTheChangesASyncMade() async throws {
        let volunteer = try worker(.volunteer, inGrid: true)
        let p = try phone("live.db", owner: volunteer, scopes: nil)
        var households = p.householdsStream(gridId: grid).makeAsyncIterator()
        var tasks = p.myTasksStream().makeAsyncIterator()
        let before = try await households.next()!
        XCTAssertTrue(try await tasks.next()!.isEmpty)
        try station.actAs(workerId: try worker(.dispatcher).id)
        let h = try station.households().add(gridId: grid, address: AddressInput(compound: "百步亭花园", building: "7栋", unit: "1单元", room: "301"))
        let order = try station.orders().create(order: OrderInput(householdId: h, residentId: nil, kind: .groceries, items: [OrderItem(name: "米", quantity: 1, unit: "袋")], urgency: .urgent, deadline: nil, note: ""))
        _ = try station.orders().act(orderId: order, action: .dispatchToWorker(workerId: volunteer.id))
        XCTAssertFalse(before.contains { $0.id == h })
        _ = try sync(p, station)
        var sawHousehold = false
        while !sawHousehold, let list = try await households.next() { sawHousehold = list.contains { $0.id == h } }
        var sawTask = false
        while !sawTask, let list = try await tasks.next() { sawTask = list.contains { $0.id == order } }
        XCTAssertTrue(sawHousehold && sawTask)
    }

    func testAVolunteersDay() throws {
        let volunteer = try worker(.volunteer, inGrid: true)
        let dispatcher = try worker(.dispatcher)
        let p = try phone("phone.db", owner: volunteer, scopes: nil)
        let crises = Crises()
        let crisisHandle = try p.addCrisisListener(listener: crises)
        let h = try p.households().add(gridId: grid, address: AddressInput(compound: "百步亭花园", building: "5栋", unit: "1单元", room: "502"))
        let r = try p.households().addResident(householdId: h, resident: ResidentInput(name: "王秀英", sex: .female, birthYear: 1942, phone: "", tags: ["elderly_alone", "chronic_illness"]))
        _ = try p.households().recordVisit(householdId: h, needs: [NeedInput(kind: .medicine, item: "胰岛素", daysLeft: 2, detail: "")], notes: "")
        let row = try p.households().list(gridId: grid, limit: 200).first { $0.id == h }!
        XCTAssertEqual(row.priority, .p1)

        let q = try p.screening().start(instrument: "phq9", language: .zhHans, householdId: h, residentId: r)
        var step = try q.current()
        XCTAssertEqual(step?.text, "做事时提不起劲或没有兴趣")
        for value: Int32 in [1, 1, 1, 0, 0, 1, 0, 0, 2] {
            let item = step!.itemId
            let result = try q.answer(itemId: item, value: value)
            if item == "9" {
                XCTAssertEqual(result.redFlags, ["suicidal_ideation"])
                XCTAssertEqual(crises.seen.items.count, 1, "the alert came with the answer")
                // No C-SSRS texts on this phone: a professional evaluates her.
                XCTAssertTrue(result.assessWith.isEmpty && crises.seen.items[0].assessWith.isEmpty)
            } else {
                XCTAssertTrue(result.redFlags.isEmpty)
            }
            step = result.next
        }
        XCTAssertEqual(step?.itemId, "10")
        XCTAssertNil(try q.decline(itemId: "10"))
        let recorded = try p.screening().record(questionnaires: [q])
        XCTAssertEqual(recorded.tier, .crisis)
        // Saving the sitting opened its crisis record; the red flag was alerted once, at the
        // answer, and is not raised again.
        let crisis = CrisisRef(caseId: recorded.caseId, crisisId: recorded.crisisId!)
        XCTAssertEqual(crises.seen.items.count, 1)
        XCTAssertEqual(crises.seen.items.first?.source, .answer)
        _ = try p.cases().crisisAction(crisis: crisis, step: .stayedWithPerson, note: "")
        XCTAssertTrue(try p.cases().due(workerId: nil, days: 7).contains { $0.what == .crisis })
        XCTAssertEqual(try p.cases().recordVisit(caseId: recorded.caseId, minutes: 20, note: "stayed an hour").openCrises, 1)
        _ = try p.cases().addNote(caseId: recorded.caseId, text: "sister informed")
        XCTAssertThrowsError(try p.cases().assign(caseId: recorded.caseId, workerId: volunteer.id))
        crisisHandle.unregister()

        let order = try p.orders().create(order: OrderInput(householdId: h, residentId: r, kind: .medicineDelivery, items: [OrderItem(name: "胰岛素", quantity: 2, unit: "支")], urgency: .critical, deadline: nil, note: ""))
        try p.actAs(workerId: dispatcher.id)
        XCTAssertThrowsError(try p.orders().act(orderId: order, action: .dispatchToGrid(gridId: grid)))
        try p.actAs(workerId: volunteer.id)
        _ = try sync(p, station)
        try station.actAs(workerId: dispatcher.id)
        _ = try station.orders().act(orderId: order, action: .dispatchToGrid(gridId: grid))
        XCTAssertTrue(try station.orders().suggestWorkers(orderId: order, limit: 3).first!.sameGrid)
        _ = try sync(p, station)
        XCTAssertEqual(try p.orders().act(orderId: order, action: .accept).status, .accepted)
        _ = try p.orders().act(orderId: order, action: .start)
        let done = try p.orders().act(orderId: order, action: .complete(handedOver: [OrderItem(name: "胰岛素", quantity: 2, unit: "支")], confirmationCode: "4821", minutes: 40))
        XCTAssertEqual(done.status, .completed)

        let progress = Progress()
        let progressHandle = try p.addSyncListener(listener: progress)
        let (mine, theirs) = try sync(p, station)
        XCTAssertTrue(mine.completed && theirs.completed)
        XCTAssertFalse(progress.seen.items.isEmpty)
        progressHandle.unregister()
        XCTAssertEqual(try station.cases().info(caseId: recorded.caseId).tier, .crisis)
        XCTAssertThrowsError(try p.cases().info(caseId: recorded.caseId))
        XCTAssertTrue(try station.admin().check() && p.admin().check())
    }

    func testTwoPhonesAcceptTheSameOrderAndTheLoserIsTold() throws {
        let volunteers = try station.workers(gridId: grid, role: .volunteer)
        try station.actAs(workerId: try worker(.dispatcher).id)
        let h = try station.households().list(gridId: grid, limit: 1).first!.id
        let order = try station.orders().create(order: OrderInput(householdId: h, residentId: nil, kind: .groceries, items: [OrderItem(name: "米", quantity: 1, unit: "袋")], urgency: .urgent, deadline: nil, note: ""))
        _ = try station.orders().act(orderId: order, action: .dispatchToGrid(gridId: grid))
        let first = try phone("first.db", owner: volunteers[0], scopes: nil)
        let second = try phone("second.db", key: nil, owner: volunteers[1], scopes: nil)
        _ = try first.orders().act(orderId: order, action: .accept)
        Thread.sleep(forTimeInterval: 0.005)
        _ = try second.orders().act(orderId: order, action: .accept)
        // A listener may call back into the store, writes included: no deadlock.
        let told = ConflictsCallingBack(second, household: h)
        let handle = try second.addConflictListener(listener: told)
        _ = try sync(first, station)
        _ = try sync(second, station)
        XCTAssertEqual(told.seen.items.count, 1)
        XCTAssertEqual(told.tasksSeen.items.count, 1)
        XCTAssertEqual(told.seen.items.first?.kind, .acceptanceLost)
        XCTAssertEqual(told.seen.items, try second.orders().conflicts(workerId: volunteers[1].id))
        handle.unregister()
        _ = try sync(second, first)
        XCTAssertEqual(try first.admin().exportJson(), try second.admin().exportJson())
    }

    func testSealedBundlesReachEnrolledPhonesAndImportTwiceHarmlessly() throws {
        let c = try phone("carried.db")
        try station.actAs(workerId: try worker(.stationAdmin).id)
        let h = try station.households().add(gridId: grid, address: AddressInput(compound: "带出小区", building: "1栋", unit: "1单元", room: "101"))
        let bundle = try station.sync().exportBundle(scopes: ["station", "grid:\(grid!)"])
        XCTAssertNil(bundle.range(of: Data("带出小区".utf8)), "the carrier reads nothing")
        let first = try c.sync().importBundle(bytes: bundle)
        XCTAssertEqual(first.applied, 1)
        let twice = try c.sync().importBundle(bytes: bundle)
        XCTAssertEqual(twice.applied, 0)
        XCTAssertTrue(try c.households().list(gridId: grid, limit: 500).contains { $0.id == h })
        let stranger = try AnxinStore.open(options: OpenOptions(path: path("stranger.db"), key: "k", scopes: nil, actingWorker: nil))
        XCTAssertThrowsError(try stranger.sync().importBundle(bytes: bundle)) {
            guard case AnxinError.NotEnrolled = $0 else { return XCTFail("\($0)") }
        }
    }

    func testAVolunteersForgedReviewNeverReachesTheCounselorsPhone() throws {
        let volunteer = try worker(.volunteer, inGrid: true)
        let counselor = try worker(.counselor)
        let v = try phone("volunteer.db", owner: volunteer, scopes: nil)
        let c = try phone("counselor.db", owner: counselor)
        let h = try v.households().list(gridId: grid, limit: 1).first!.id
        let r = try v.households().addResident(householdId: h, resident: ResidentInput(name: "周", sex: .female, birthYear: 1950, phone: "", tags: []))
        let q = try v.screening().start(instrument: "phq9", language: .en, householdId: h, residentId: r)
        for (item, value) in [("1", 2), ("2", 2), ("3", 2), ("4", 2), ("5", 2), ("6", 1), ("7", 1), ("8", 0), ("9", 0)] {
            _ = try q.answer(itemId: item, value: Int32(value))
        }
        let recorded = try v.screening().record(questionnaires: [q], cutoffs: .international)
        XCTAssertEqual(recorded.tier, .t2)
        try v.actAs(workerId: counselor.id)
        XCTAssertThrowsError(try v.cases().review(caseId: recorded.caseId, screeningId: recorded.screeningId, tier: .t0, reason: "fine"))
        try v.actAs(workerId: volunteer.id)
        XCTAssertThrowsError(try v.cases().review(caseId: recorded.caseId, screeningId: recorded.screeningId, tier: .t0, reason: "fine"))
        let (up, _) = try sync(v, station)
        XCTAssertTrue(up.completed && up.quarantined.isEmpty)
        let (down, _) = try sync(c, station)
        XCTAssertTrue(down.completed && down.quarantined.isEmpty)
        let seen = try c.cases().info(caseId: recorded.caseId)
        XCTAssertEqual(seen.tier, .t2)
        XCTAssertEqual(seen.reviewsPending, 1)
        XCTAssertEqual(try c.cases().review(caseId: recorded.caseId, screeningId: recorded.screeningId, tier: .t1, reason: "assessed").tier, .t1)
    }

    func testACounselorWorksFromWhatIsDue() throws {
        let volunteer = try worker(.volunteer, inGrid: true)
        let counselor = try worker(.counselor)
        try station.actAs(workerId: volunteer.id)
        let h = try station.households().add(gridId: grid, address: AddressInput(compound: "百步亭花园", building: "7栋", unit: "1单元", room: "303"))
        let r = try station.households().addResident(householdId: h, resident: ResidentInput(name: "陈", sex: .male, birthYear: 1948, phone: "", tags: ["elderly_alone"]))
        XCTAssertTrue(try station.households().residentsWithTag(tag: "elderly_alone", gridId: grid).contains { $0.residentId == r && $0.householdId == h })
        XCTAssertThrowsError(try station.households().residentsWithTag(tag: "Not a tag!", gridId: nil)) {
            guard case AnxinError.InvalidInput = $0 else { return XCTFail("\($0)") }
        }

        // PHQ-9 of 12, no red flag: t2, a professional review is due.
        let q = try station.screening().start(instrument: "phq9", language: .en, householdId: h, residentId: r)
        for (item, value) in [("1", 2), ("2", 2), ("3", 2), ("4", 2), ("5", 2), ("6", 1), ("7", 1), ("8", 0), ("9", 0)] {
            XCTAssertTrue(try q.answer(itemId: item, value: Int32(value)).redFlags.isEmpty)
        }
        XCTAssertEqual(try q.score(cutoffs: .international).score, 12)
        let recorded = try station.screening().record(questionnaires: [q], cutoffs: .international)
        XCTAssertEqual(recorded.tier, .t2)
        XCTAssertEqual(try station.cases().list(householdId: h), [CaseSummary(caseId: recorded.caseId, residentId: r, householdId: h, tier: .t2, assigned: nil, openCrises: 0, screenings: 1, conflicts: 0)])

        // The counselor finds the review in what is due and does it from there.
        try station.actAs(workerId: counselor.id)
        let reviews = try station.cases().due(workerId: nil, days: 2).filter { $0.caseId == recorded.caseId && $0.what == .review }
        XCTAssertEqual(reviews.count, 1)
        let review = reviews[0]
        XCTAssertEqual(review.reference, recorded.screeningId)
        XCTAssertEqual(review.householdId, h)
        let pending = try station.cases().info(caseId: recorded.caseId)
        XCTAssertEqual(pending.reviewsPending, 1)
        XCTAssertEqual(pending.screenings.map { $0.id }, [recorded.screeningId])
        XCTAssertEqual(pending.screenings.first?.by, volunteer.id)
        XCTAssertEqual(pending.screenings.first?.results.first?.score, 12)
        XCTAssertNotNil(pending.screenings.first?.reviewDue)
        try signAsCounselor()
        let reviewed = try station.cases().review(caseId: recorded.caseId, screeningId: review.reference, tier: .t3, reason: "assessed in person")
        XCTAssertEqual(reviewed.tier, .t3)
        XCTAssertEqual(reviewed.screenings.first?.reviewedTier, .t3)
        XCTAssertEqual(reviewed.reviewsPending, 0)
        XCTAssertFalse(try station.cases().due(workerId: nil, days: 2).contains { $0.reference == recorded.screeningId && $0.what == .review })

        // A referral, listed with its state and deadline.
        let referral = try station.cases().refer(caseId: recorded.caseId, tier: .t3, to: "市精神卫生中心", reason: "PHQ-9 moderate, assessed")
        let sent = try station.cases().updateReferral(caseId: recorded.caseId, referralId: referral, status: .sent, note: "")
        XCTAssertEqual(sent.referrals.map { $0.id }, [referral])
        XCTAssertEqual(sent.referrals.first?.status, .sent)
        XCTAssertEqual(sent.referrals.first?.escalated, false)
        XCTAssertTrue(try station.cases().due(workerId: nil, days: 2).contains { $0.reference == referral && $0.what == .referralAck })
        XCTAssertThrowsError(try station.cases().updateReferral(caseId: recorded.caseId, referralId: referral, status: .proposed, note: "")) {
            guard case AnxinError.Conflict = $0 else { return XCTFail("\($0)") }
        }
    }

    func testARedFlagSittingOpensItsCrisisAndK10FollowsTheForm() throws {
        let volunteer = try worker(.volunteer, inGrid: true)
        try station.actAs(workerId: volunteer.id)
        let h = try station.households().add(gridId: grid, address: AddressInput(compound: "百步亭花园", building: "9栋", unit: "2单元", room: "101"))
        let r = try station.households().addResident(householdId: h, resident: ResidentInput(name: "赵", sex: .male, birthYear: 1960, phone: "", tags: []))
        let crises = Crises()
        let handle = try station.addCrisisListener(listener: crises)
        let first = try station.screening().start(instrument: "phq9", language: .en, householdId: h, residentId: r)
        for (i, v) in [2, 2, 2, 2, 1, 1, 0, 0, 0].enumerated() { _ = try first.answer(itemId: "\(i + 1)", value: Int32(v)) }
        let t2 = try station.screening().record(questionnaires: [first])
        XCTAssertEqual(t2.tier, .t2)
        let rule = t2.why.first!
        XCTAssertEqual(rule.kind, .rule)
        XCTAssertEqual(rule.tier, .t2)
        XCTAssertEqual(rule.instrument, "phq9")
        XCTAssertEqual(rule.total, 10)
        XCTAssertEqual(t2.reasons.count, t2.why.count)
        XCTAssertEqual(try label(vocabulary: "tier_reason", code: "rule", language: .zhHans), "转介规则")
        XCTAssertNil(t2.crisisId)
        let second = try station.screening().start(instrument: "phq9", language: .en, householdId: h, residentId: r)
        for (i, v) in [2, 2, 2, 2, 1, 1, 0, 0, 1].enumerated() { _ = try second.answer(itemId: "\(i + 1)", value: Int32(v)) }
        let red = try station.screening().record(questionnaires: [second])
        XCTAssertEqual(red.tier, .crisis)
        XCTAssertTrue(red.why.contains { $0.kind == .redFlagUnassessed && $0.flag == "suicidal_ideation" && $0.tier == .crisis })
        let crisisId = red.crisisId!
        XCTAssertEqual(red.openCrisisIds, [crisisId])
        // One alert per red flag: raised at the answer, not again when recorded.
        XCTAssertEqual(crises.seen.items.count, 1)
        XCTAssertEqual(crises.seen.items.first?.source, .answer)
        XCTAssertEqual(crises.seen.items.first?.itemId, "9")
        XCTAssertEqual(crises.seen.items.first?.flags, ["suicidal_ideation"])
        XCTAssertNil(crises.seen.items.first?.crisisId)
        XCTAssertFalse(crises.seen.items.first?.alertId.isEmpty ?? true)
        let due = try station.cases().due(workerId: nil, days: 7)
        XCTAssertEqual(due.first?.what, .crisis)
        XCTAssertEqual(due.first?.reference, crisisId)
        XCTAssertEqual(try station.cases().info(caseId: red.caseId).openCrises, 1)
        try signAsCounselor()
        let reviewed = try station.cases().review(caseId: red.caseId, screeningId: t2.screeningId, tier: .t0, reason: "situational")
        XCTAssertEqual(reviewed.tier, .crisis)
        XCTAssertEqual(try station.households().list(gridId: grid, limit: 500).first { $0.id == h }?.priority, .p1)
        try station.admin().signAsDevice()
        handle.unregister()

        try station.actAs(workerId: volunteer.id)
        let k10 = try station.screening().start(instrument: "k10", language: .en, householdId: h, residentId: r)
        XCTAssertEqual(try k10.convention(), "1-5")
        XCTAssertEqual(try k10.current()!.choices.map { $0.value }, [1, 2, 3, 4, 5])
        for i in 1...10 { _ = try k10.answer(itemId: "\(i)", value: 1) }
        let low = try k10.score()
        XCTAssertEqual(low.score, 10)
        XCTAssertEqual(low.convention, "1-5")
        XCTAssertEqual(low.tier, .t0)
        XCTAssertEqual(low.cutoffSet, .zhCn)
        let us = try station.screening().start(instrument: "k10", language: .en, householdId: h, residentId: r, convention: "0-4")
        XCTAssertEqual(try us.convention(), "0-4")
        for i in 1...10 { _ = try us.answer(itemId: "\(i)", value: 1) }
        let mild = try us.score()
        XCTAssertEqual(mild.score, 10)
        XCTAssertEqual(mild.tier, .t1)
        XCTAssertTrue(mild.reasons.contains { $0.contains("0-4 scoring") })
        XCTAssertThrowsError(try station.screening().start(instrument: "k10", language: .en, householdId: h, residentId: r, convention: "2-6"))
        XCTAssertEqual(try station.screening().record(questionnaires: [us], cutoffs: .international).tier, .t1)
    }

    func testACoordinatorSetsUpAStationFromNothing() throws {
        let s = try AnxinStore.open(options: OpenOptions(path: path("new.db"), key: "new key", scopes: nil, actingWorker: nil))
        _ = try s.admin().initStation(name: "中南路安心小屋")
        XCTAssertThrowsError(try s.admin().addCommunity(name: "百步亭社区")) {
            guard case AnxinError.NoActingWorker = $0 else { return XCTFail("\($0)") }
        }
        let admin = try s.admin().addFirstAdmin(name: "张站长", phone: "13800000000")
        XCTAssertThrowsError(try s.admin().addFirstAdmin(name: "冒名", phone: "13800000009"))
        try s.actAs(workerId: admin)
        let community = try s.admin().addCommunity(name: "百步亭社区")
        let grid = try s.admin().addGrid(communityId: community, name: "第1网格")
        XCTAssertEqual(try s.grids().map { $0.name }, ["第1网格"])
        let volunteer = try s.admin().addWorker(worker: WorkerInput(name: "张伟", phone: "13800000001", role: .volunteer, gridId: grid))
        let dispatcher = try s.admin().addWorker(worker: WorkerInput(name: "周调度", phone: "13800000002", role: .dispatcher))
        XCTAssertThrowsError(try s.admin().addWorker(worker: WorkerInput(name: "重复", phone: "13800000001", role: .volunteer)))
        try s.admin().assignToGrid(gridId: grid, workerId: volunteer, lead: true)
        XCTAssertEqual(try s.admin().roster(gridId: grid).map { $0.workerId }, [volunteer])
        try s.admin().setContactCard(gridId: grid, card: ContactCardInfo(name: "张伟", phone: "13800000001", hours: "8:00-20:00"))
        XCTAssertEqual(try s.admin().contactCard(gridId: grid).name, "张伟")
        _ = try s.admin().addTraining(workerId: volunteer, training: TrainingInput(course: "心理急救（PFA）基础", topic: "psychological_first_aid", trainer: "市心理热线", completedAt: Int64(Date().timeIntervalSince1970 * 1000), tenthsOfHours: 40))
        try s.admin().updateWorker(workerId: volunteer, changes: WorkerChanges(skills: ["driving"]))

        try s.actAs(workerId: volunteer)
        XCTAssertThrowsError(try s.admin().addGrid(communityId: community, name: "第2网格"))
        let h = try s.households().add(gridId: grid, address: AddressInput(compound: "百步亭花园", building: "3栋", unit: "2单元", room: "502"))
        let r = try s.households().addResident(householdId: h, resident: ResidentInput(name: "王秀英", sex: .female, birthYear: 1942, phone: "", tags: ["elderly_alone"]))
        try s.households().updateResident(householdId: h, residentId: r, changes: ResidentChanges(phone: "13900000009"))
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        XCTAssertThrowsError(try s.admin().addActivity(activity: ActivityInput(kind: "group_session", title: "居家情绪互助小组", gridId: grid, startsAt: now, durationMinutes: 90)))
        try s.actAs(workerId: dispatcher)
        let start = now - 3_600_000
        let activity = try s.admin().addActivity(activity: ActivityInput(kind: "group_session", title: "居家情绪互助小组", gridId: grid, startsAt: start, durationMinutes: 90, facilitatorId: volunteer))
        try s.admin().recordAttendance(activityId: activity, personId: dispatcher, resident: false, present: true)
        try s.admin().recordAttendance(activityId: activity, personId: r, resident: true, present: true)
        XCTAssertEqual(try s.admin().creditActivityHours(activityId: activity), 2)
        XCTAssertEqual(try s.admin().creditActivityHours(activityId: activity), 0)
        let listed = try s.admin().activities(gridId: grid, from: start - 1, to: start + 1)
        XCTAssertEqual(listed.first?.present, 2)
        let entry = try s.orders().hoursEntries(workerId: volunteer).first!
        XCTAssertEqual(entry.minutes, 90)
        try s.orders().acknowledgeHoursAsResident(residentId: r, workerId: volunteer, entryId: entry.id)
        XCTAssertEqual(try s.orders().hours(workerId: volunteer).first?.acknowledgedMinutes, 90)
        try s.actAs(workerId: admin)
        try s.admin().deactivateWorker(workerId: dispatcher)
        try s.actAs(workerId: dispatcher)
        XCTAssertThrowsError(try s.admin().creditActivityHours(activityId: activity))
        XCTAssertTrue(try s.admin().check())
    }

    func testADeploymentsPolicySetsTheDeadlines() throws {
        let builtin = try String(contentsOf: repo.appendingPathComponent("core/instruments/policy.json"), encoding: .utf8)
        let mine = builtin.replacingOccurrences(of: "\"t2\": {\"response_hours\": 72, \"review_hours\": 24",
                                                with: "\"t2\": {\"response_hours\": 72, \"review_hours\": 6")
        XCTAssertNotEqual(mine, builtin)
        XCTAssertThrowsError(try AnxinStore.open(options: OpenOptions(path: path("bad.db"), key: nil, scopes: nil, actingWorker: nil,
                                                                      policyJson: mine.replacingOccurrences(of: "\"t1\":", with: "\"t9\":")))) {
            guard case let AnxinError.InvalidInput(field, _, _, _, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(field, "policy_json")
        }
        let s = try AnxinStore.open(options: OpenOptions(path: path("deployment.db"), key: nil, scopes: nil, actingWorker: nil, policyJson: mine))
        try s.admin().loadFixture(households: 10, seed: 3)
        let g = try s.grids().first!.id
        try s.actAs(workerId: try s.workers(gridId: g, role: .volunteer).first!.id)
        let h = try s.households().list(gridId: g, limit: 1).first!.id
        let r = try s.households().residents(householdId: h).first!.id
        let q = try s.screening().start(instrument: "phq9", language: .en, householdId: h, residentId: r)
        for (i, v) in [2, 2, 2, 2, 2, 1, 1, 0, 0].enumerated() { _ = try q.answer(itemId: "\(i + 1)", value: Int32(v)) }
        let recorded = try s.screening().record(questionnaires: [q], cutoffs: .international)
        XCTAssertEqual(recorded.tier, .t2)
        let at = try s.cases().info(caseId: recorded.caseId).screenings.first!.at
        let review = try s.cases().due(workerId: nil, days: 2).first { $0.reference == recorded.screeningId && $0.what == .review }!
        XCTAssertEqual(review.dueAt - at, 6 * 3_600_000, "the deployment's 6 hours, not the built-in 24")
    }

    func testLicensedTextsAreLoadedFromTheDeploymentsFile() throws {
        let h = try station.households().list(gridId: grid, limit: 1).first!.id
        let r = try station.households().residents(householdId: h).first!.id
        XCTAssertThrowsError(try station.screening().start(instrument: "cssrs", language: .en, householdId: h, residentId: r)) {
            guard case let AnxinError.InvalidInput(field, _, _, _, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(field, "cssrs")
        }
        // A malformed file is refused, names the file, and changes nothing.
        XCTAssertThrowsError(try station.screening().loadLicensedTexts(fileName: "cssrs-texts.json", json: cssrsTexts.replacingOccurrences(of: "2026.1", with: "1999.1"))) {
            guard case let AnxinError.InvalidInput(field, _, _, _, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(field, "cssrs-texts.json")
        }
        XCTAssertTrue(try station.screening().instruments().first { $0.id == "cssrs" }!.languages.isEmpty)

        let now = try station.screening().loadLicensedTexts(fileName: "cssrs-texts.json", json: cssrsTexts)
        XCTAssertEqual(now.first { $0.id == "cssrs" }!.languages, [.en])
        XCTAssertEqual(now, try station.screening().instruments())
        let alerts = Crises()
        let handle = try station.addCrisisListener(listener: alerts)
        let q = try station.screening().start(instrument: "cssrs", language: .en, householdId: h, residentId: r)
        XCTAssertEqual(try q.current()?.text, "Q1 text")
        let first = try q.answer(itemId: "1", value: 1)
        XCTAssertEqual(first.redFlags, ["wish_to_be_dead"])
        XCTAssertTrue(first.assessWith.isEmpty, "the C-SSRS is the assessment")
        // The C-SSRS flow: no suicidal thoughts (Q2 = no) goes straight to Q6.
        XCTAssertEqual(try q.answer(itemId: "2", value: 0).next?.itemId, "6")
        XCTAssertEqual(try q.answer(itemId: "6", value: 1).redFlags, ["suicidal_behaviour"])
        XCTAssertEqual(alerts.seen.items.map { $0.flags }, [["wish_to_be_dead"], ["suicidal_behaviour"]])
        // With the texts loaded, a red flag on the PHQ-9 leads on to the C-SSRS
        // (in a language the texts exist in).
        let phq9 = try station.screening().start(instrument: "phq9", language: .en, householdId: h, residentId: r)
        for i in 1...8 { _ = try phq9.answer(itemId: "\(i)", value: 0) }
        XCTAssertEqual(try phq9.answer(itemId: "9", value: 1).assessWith, ["cssrs"])
        XCTAssertEqual(alerts.seen.items.last?.assessWith, ["cssrs"])
        let chinese = try station.screening().start(instrument: "phq9", language: .zhHans, householdId: h, residentId: r)
        for i in 1...8 { _ = try chinese.answer(itemId: "\(i)", value: 0) }
        XCTAssertTrue(try chinese.answer(itemId: "9", value: 1).assessWith.isEmpty)
        handle.unregister()
    }
}

/// The repository this file is in.
let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../..").standardized

/// A deployment's C-SSRS texts file (placeholder wording: the real texts are licensed).
let cssrsTexts = try! String(contentsOf: repo.appendingPathComponent("core/testdata/cssrs-texts.json"), encoding: .utf8)

/// The Swift quick start of bindings/README.md, compiled and run: keep the two in step.
final class QuickStartTests: XCTestCase {
    final class Transport {
        let peer: SyncSessionHandle
        init(station: AnxinStore) throws {
            peer = try station.sync().session(options: SyncOptions(initiator: false, maxFrameBytes: 4096, enrolCode: nil))
        }
        func exchange(_ frames: [Data]) throws -> [Data] { try frames.flatMap { try peer.receive(frame: $0) } }
    }

    final class Presenter: CrisisListener, @unchecked Sendable {
        var alerts: [CrisisAlert] = []
        func onCrisis(alert: CrisisAlert) { alerts.append(alert) }
    }

    func testQuickStart() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let station = try AnxinStore.open(options: OpenOptions(path: dir.appendingPathComponent("station.db").path, key: nil, scopes: nil, actingWorker: nil))
        try station.admin().loadFixture(households: 20, seed: 3)
        let gridId = try station.grids().first!.id
        let volunteerId = try station.workers(gridId: gridId, role: .volunteer).first!.id
        let dbPath = dir.appendingPathComponent("anxin.db").path
        let keyFromKeychain = "a key from the iOS Keychain"
        let transport = try Transport(station: station)
        try station.actAs(workerId: try station.workers(gridId: nil, role: .stationAdmin).first!.id)
        let enrolmentCode = try station.admin().enrolDevice(workerId: volunteerId, scopes: nil, codeMinutes: 15, credentialDays: 90)
        var answers: [Int32?] = [0, 1, 1, 0, 0, 0, 0, 0, 1, nil]
        func askRespondent(_ p: ItemPrompt) -> Int32? { answers.removeFirst() }
        let crisisPresenter = Presenter()

        // ---- the quick start, as in bindings/README.md ----
        let store = try AnxinStore.open(options: OpenOptions(path: dbPath, key: keyFromKeychain,
                                                             scopes: ["station", "grid:\(gridId)"], actingWorker: nil))
        // Every call that touches the disk has an `async` form (…Async) that runs on Anxin's
        // own worker: await it from any task, the main actor included.
        let session = try store.sync().enroll(code: enrolmentCode, maxFrameBytes: 4096)
        var outgoing = try await session.startAsync()
        while try !session.isFinished() {
            let incoming = try transport.exchange(outgoing)                  // your Multipeer / Bluetooth code
            var next: [Data] = []
            for frame in incoming { next += try await session.receiveAsync(frame: frame) }
            outgoing = next
        }
        try await store.actAsAsync(workerId: volunteerId)

        let household = try await store.households().addAsync(gridId: gridId, address: AddressInput(compound: "百步亭花园", building: "5栋", unit: "1单元", room: "502"))
        let resident = try await store.households().addResidentAsync(householdId: household, resident: ResidentInput(name: "王秀英", sex: .female, birthYear: 1942, phone: "", tags: ["elderly_alone"]))
        _ = try await store.households().recordVisitAsync(householdId: household, needs: [NeedInput(kind: .medicine, item: "胰岛素", daysLeft: 2, detail: "")], notes: "")

        // Hear red flags at the answer, on the queue you choose. The listener stays registered
        // until unregister() or the store closes.
        let handle = try store.addCrisisListener(listener: CrisisListenerOnQueue(crisisPresenter, on: .main))
        let q = try await store.screening().startAsync(instrument: "phq9", language: .zhHans, householdId: household, residentId: resident, convention: nil)
        var prompt = try q.current()
        while let p = prompt {
            if let value = askRespondent(p) { prompt = try await q.answerAsync(itemId: p.itemId, value: value).next }
            else { prompt = try await q.declineAsync(itemId: p.itemId) }
        }
        let recorded = try await store.screening().recordAsync(questionnaires: [q], cutoffs: .zhCn)   // a crisis sitting opened its crisis record
        handle.unregister()
        // ---- end of the quick start ----

        XCTAssertEqual(recorded.tier, .crisis)
        // The presenter hears on the main queue: let it run, then check it heard once.
        try await Task.sleep(nanoseconds: 200_000_000)
        await MainActor.run { XCTAssertEqual(crisisPresenter.alerts.map { $0.flags }, [["suicidal_ideation"]]) }
    }
}
