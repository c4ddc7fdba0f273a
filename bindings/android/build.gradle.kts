// The Anxin SDK as an Android library (AAR): the generated Kotlin bindings
// (src/main/kotlin) and the native libraries per ABI (src/main/jniLibs),
// both produced by ../build-android.sh.
plugins {
    id("com.android.library") version "8.5.2"
    kotlin("android") version "2.0.21"
}

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
    implementation("net.java.dev.jna:jna:5.14.0@aar")
    // The async calls are `suspend` functions; the adapters return Flows.
    api("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.9.0")
}
