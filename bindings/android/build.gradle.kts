// The Anxin SDK as an Android library (AAR): the generated Kotlin bindings
// (src/main/kotlin) and the native libraries per ABI (src/main/jniLibs),
// both produced by ../build-android.sh.
plugins {
    id("com.android.library") version "8.5.2"
    kotlin("android") version "2.0.21"
    `maven-publish`
}

group = "org.anxin"
version = "0.1.0"


android {
    namespace = "org.anxin.sdk"
    compileSdk = 35
    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    // The hand-written adapters (listeners on an executor, Flows) beside the
    // generated bindings.
    sourceSets["main"].kotlin.srcDir("../kotlin/src/main/kotlin")
}

dependencies {
    // uniffi's generated Kotlin calls the library through JNA.
    // JNA 5.17 is the first whose Android libraries are 16 KB page aligned
    // (required for apps targeting Android 15+ on 16 KB devices).
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    // The async calls are `suspend` functions; the adapters return Flows.
    api("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.9.0")
}

// `gradle publishToMavenLocal` (or a repository of your own): the POM names
// JNA (as an aar) and kotlinx-coroutines, so an app depending on the SDK gets
// both.
android {
    publishing {
        singleVariant("release") { withSourcesJar() }
    }
}

afterEvaluate {
    publishing {
        publications {
            create<MavenPublication>("release") {
                from(components["release"])
                artifactId = "anxin-sdk"
                pom {
                    name.set("Anxin SDK")
                    description.set("Offline-first case work for community aid stations: store, screening, orders and sync.")
                }
            }
        }
    }
}
